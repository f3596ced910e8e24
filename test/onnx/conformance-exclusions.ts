// Conformance tests dlkit does not run, each with a one-line reason. Everything else must pass.
export const EXCLUDED: Record<string, string> = {
};
