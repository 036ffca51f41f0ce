import { ConfigError } from "../../src/config.ts";

/** The issues of a configuration that `parse` refuses; throws (fails the test) if it was accepted. */
export function configIssues(parse: () => unknown): string[] {
  try {
    parse();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error("the configuration was expected to be refused");
}
