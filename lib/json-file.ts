// Read a JSON file and validate it against a JSON Schema (ajv). Every file
// the build reads from the repo or from the user goes through here, so that a
// bad file is rejected before any work starts, with the JSON path and what
// was expected.
import { readFileSync } from 'node:fs';
import AjvModule, { type ErrorObject } from 'ajv';

// ajv is CommonJS; under NodeNext its default export is the module object.
const Ajv = AjvModule.default;

export class InvalidFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidFileError';
  }
}

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
const compiled = new Map<string, ReturnType<typeof ajv.compile>>();

function validatorFor(schemaFile: string) {
  let v = compiled.get(schemaFile);
  if (!v) {
    const schema = JSON.parse(readFileSync(schemaFile, 'utf8'));
    // The "$schema" keyword of our schemas names the draft; ajv knows draft-07.
    delete schema.$schema;
    v = ajv.compile(schema);
    compiled.set(schemaFile, v);
  }
  return v;
}

/** One line per ajv error: "<json path>: <what was expected>". */
export function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const where = e.instancePath === '' ? '(top level)' : e.instancePath;
    let what = e.message ?? 'is invalid';
    if (e.keyword === 'enum') what += ` (${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')})`;
    if (e.keyword === 'additionalProperties') what += ` ("${(e.params as { additionalProperty: string }).additionalProperty}")`;
    return `${where}: ${what}`;
  });
}

/** Validate an already-parsed value; `label` names it in the error. */
export function validateData<T>(data: unknown, schemaFile: string, label: string): T {
  const validate = validatorFor(schemaFile);
  if (!validate(data)) throw new InvalidFileError(label, describeErrors(validate.errors));
  return data as T;
}

const compiledObjects = new WeakMap<object, ReturnType<typeof ajv.compile>>();

/** Validate against a schema given as an object (e.g. bundled into a program); `label` names the data in the error. */
export function validateDataWith<T>(data: unknown, schema: Record<string, unknown>, label: string): T {
  let v = compiledObjects.get(schema);
  if (!v) {
    const { $schema: _ignored, ...rest } = schema;
    v = ajv.compile(rest);
    compiledObjects.set(schema, v);
  }
  if (!v(data)) throw new InvalidFileError(label, describeErrors(v.errors));
  return data as T;
}

/** Parse a JSON text, reporting syntax errors with the file name. */
export function parseJson(text: string, label: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidFileError(label, [`not valid JSON: ${(err as Error).message}`]);
  }
}

export function readJsonFile<T>(file: string, schemaFile: string): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidFileError(file, [`cannot be read: ${(err as Error).message}`]);
  }
  return validateData<T>(parseJson(text, file), schemaFile, file);
}
