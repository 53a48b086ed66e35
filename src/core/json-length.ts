/**
 * The length of a number's JSON, without printing it: a snapshot counts
 * every number it copies, and printing one costs more than the rest of a
 * small snapshot.
 */

/** 10⁰ to 10²⁰, each exact. */
const POWERS_OF_TEN = Array.from({ length: 21 }, (_, exponent) => 10 ** exponent);

/**
 * The length of a 32-bit integer's JSON (`| 0` leaves it unchanged). The
 * minus sign and the digits of the negation, which for −2³¹ is 2³¹: one past
 * the 32-bit range, and still counted right.
 */
export function int32Chars(value: number): number {
  if (value < 0) return 1 + int32Chars(-value);
  if (value < 10_000) return value < 10 ? 1 : value < 100 ? 2 : value < 1000 ? 3 : 4;
  if (value < 100_000_000) return value < 100_000 ? 5 : value < 1_000_000 ? 6 : value < 10_000_000 ? 7 : 8;
  return value < 1_000_000_000 ? 9 : 10;
}

/**
 * The length of a finite number's JSON: exact for a number of up to 15
 * significant digits (`0.25`, `3e-4`, `1234.5678`), and for one of 16 or 17
 * (a computed value, such as `0.1 + 0.2`) the length of 17, at most 1 over.
 * Never under. Printed, and so exact, only for integers beyond 2⁵³,
 * fractions beyond 10¹⁵ and numbers under 10⁻⁶.
 */
export function numberChars(value: number): number {
  const sign = value < 0 ? 1 : 0;
  const magnitude = sign === 1 ? -value : value;
  if (Number.isSafeInteger(value)) return sign + integerDigits(magnitude);
  if (magnitude < 1e-6 || magnitude >= 1e15) return String(value).length;
  const whole = Math.floor(magnitude);
  const wholeDigits = whole === 0 ? 0 : integerDigits(whole);
  const zeros = leadingZeros(magnitude);
  // "0." or the integer part and the point, then the fraction digits.
  const head = sign + (whole === 0 ? 1 : wholeDigits) + 1;
  // The fraction digits of 15 significant ones. The number scaled by 10 to that many is under 10¹⁵,
  // where rounding it to an integer is exact enough; and as division rounds correctly, m / 10ᵈ ===
  // magnitude holds exactly when the decimal m·10⁻ᵈ reads back as the number.
  const most = 15 - wholeDigits + zeros;
  if (Math.round(magnitude * (POWERS_OF_TEN[most] as number)) / (POWERS_OF_TEN[most] as number) === magnitude) {
    // Ends at `most` digits at the latest, where the test above held.
    let digits = 1;
    while (Math.round(magnitude * (POWERS_OF_TEN[digits] as number)) / (POWERS_OF_TEN[digits] as number) !== magnitude) digits++;
    return head + digits;
  }
  // 16 or 17 significant digits: counted as 17.
  return head + 17 - wholeDigits + zeros;
}

/** Digits of a safe integer ≥ 0: at most 16, as it is under 2⁵³ < 10¹⁶. */
function integerDigits(value: number): number {
  let digits = 1;
  while (value >= (POWERS_OF_TEN[digits] as number)) digits++;
  return digits;
}

/** 10⁻¹ to 10⁻⁵, as literals: the doubles that "0.1" to "0.00001" read as; then 0, which ends the count at 5. */
const TENTHS = [0.1, 0.01, 0.001, 0.0001, 0.00001, 0];

/** Zeros between the point and the first significant digit of a number in [10⁻⁶, 1); 0 for one of 1 or more. */
function leadingZeros(value: number): number {
  let zeros = 0;
  while (value < (TENTHS[zeros] as number)) zeros++;
  return zeros;
}
