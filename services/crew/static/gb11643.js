// Chinese resident identity numbers (GB 11643-1999): 17 digits, then the ISO 7064
// MOD 11-2 check character. The same rule as services/ingest/resident_id.py, computed
// on the tablet so the crew sees a typo before anything is sent.

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = "10X98765432";

/** The check character of 17 digits. */
export function checkChar(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i];
  return CHECK_CHARS[sum % 11];
}

function birthDate(value) {
  const [y, m, d] = [value.slice(6, 10), value.slice(10, 12), value.slice(12, 14)].map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  const real = date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
  return real ? `${value.slice(6, 10)}-${value.slice(10, 12)}-${value.slice(12, 14)}` : null;
}

/**
 * What to tell the crew about a (partly) typed ID: {state, key, params, birthDate, gender}.
 * state: "empty", "typing" (fewer than 18), "ok", or "bad"; key is the message id (English).
 */
export function describe(raw) {
  const value = raw.trim().toUpperCase();
  if (!value) return { state: "empty", key: "18 characters: 17 digits + check character (GB 11643)", params: {} };
  if (!/^\d{0,17}[\dX]?$/.test(value) || (value.length < 18 && value.includes("X"))) {
    return { state: "bad", key: "17 digits, then a digit or X", params: {} };
  }
  if (value.length === 17) {
    return { state: "typing", key: "{n} typed; with 17 digits the check character is {expected}", params: { n: 17, expected: checkChar(value) } };
  }
  if (value.length < 18) return { state: "typing", key: "Needs 18 characters, has {n}", params: { n: value.length } };
  const birth = birthDate(value);
  if (!birth) return { state: "bad", key: "Birth date {date} is not a date", params: { date: value.slice(6, 14) } };
  const expected = checkChar(value.slice(0, 17));
  if (value[17] !== expected) return { state: "bad", key: "Check character should be {expected} (GB 11643 MOD 11-2)", params: { expected } };
  // The 17th digit is odd for men, even for women (GB 11643 sequence code).
  const gender = Number(value[16]) % 2 === 1 ? "male" : "female";
  return { state: "ok", key: "Valid: born {birth}, {sex}", params: { birth }, birthDate: birth, gender, value };
}
