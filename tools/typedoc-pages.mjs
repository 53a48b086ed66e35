/**
 * TypeDoc plugin for the manual in `docs/`, built into one site with the API
 * reference (see `projectDocuments` in typedoc.json):
 *
 * - names each project document after its first `# ` heading, so the site's
 *   navigation reads "Configuration" rather than "docs/configuration". The
 *   title stays in the page, where GitHub shows it too, instead of in front
 *   matter, which GitHub would render as a table above the page;
 * - warns when a page links to a `docs/*.md` file that typedoc.json does not
 *   list, which the site would otherwise serve as a raw file. Warnings are
 *   errors there, so `npm run docs` fails.
 */
import { relative, sep } from 'node:path';
import { Converter } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_CREATE_DOCUMENT, (_context, document) => {
    const text = document.content.map((part) => part.text).join('');
    const heading = /^# (.+)$/m.exec(text);
    if (heading) document.name = heading[1].replaceAll('`', '').trim();
  });

  app.converter.on(Converter.EVENT_END, (context) => {
    for (const path of context.project.files.getMediaPaths()) {
      const shown = relative(process.cwd(), path).split(sep).join('/');
      if (shown.startsWith('docs/') && shown.endsWith('.md')) {
        app.logger.warn(`${shown} is linked from a page but is not in projectDocuments (typedoc.json), so the site would serve it as a raw file`);
      }
    }
  });
}
