// Plausibility help for vital signs, from the limits the tablet API enforces
// (services/ingest/vital_signs.py, served in /crew/reference.json): a value outside them is
// shown before it is saved, never clamped.

/** Problems (message id + params) of a set of values {loinc: number}. */
export function problems(values, kinds, bp) {
  const out = [];
  for (const [code, value] of Object.entries(values)) {
    const kind = kinds.find((k) => k.code === code);
    if (!kind) continue;
    const name = code; // named by the app (reference labels)
    if (kind.integer && !Number.isInteger(value)) {
      out.push({ code, key: "{name} is a whole number", params: { name } });
    } else if (value < kind.low || value > kind.high) {
      out.push({
        code,
        key: "{name} {value} {unit} is implausible (recordable {low}–{high})",
        params: { name, value, unit: kind.unit, low: kind.low, high: kind.high },
      });
    }
  }
  const sys = values[bp.systolic];
  const dia = values[bp.diastolic];
  if ((sys === undefined) !== (dia === undefined)) out.push({ code: bp.systolic, key: "Blood pressure needs systolic and diastolic", params: {} });
  else if (sys !== undefined && dia >= sys && sys > 0) out.push({ code: bp.diastolic, key: "Diastolic must be below systolic", params: {} });
  return out;
}
