// RFC 7396 JSON merge patch over parsed JSON values; the memory store's twin of lua/json-merge-patch.lua.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

function isObject (value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** MergePatch(Target, Patch) of RFC 7396 §2. Returns a new value; neither argument is changed. */
export function applyMergePatch (target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key]
    else result[key] = applyMergePatch(result[key], value)
  }
  return result
}
