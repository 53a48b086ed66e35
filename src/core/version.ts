/** This package's version, sent as `sdk_version` and in the user-agent. A test keeps it equal to package.json's. */
export const SDK_VERSION = '0.1.0';
