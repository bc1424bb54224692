/**
 * Rendered diffs of synthesized platforms: compare two `dist/` trees (base and head) per
 * environment, per plane (Terraform, Kubernetes, inventory, other files), per resource, with
 * field-level changes; sensitive values are never part of the result. The engine is pure
 * (files in, model out); `readDistDir` / `readDistAtRef` read the trees; three renderers
 * turn the model into text, markdown (a pull-request comment) or JSON.
 */
export * from './types';
export type { PathSegment } from './path';
export { formatPath } from './path';
export type { RedactionRules, KeyPath } from './sensitive';
export { Redactor, SENSITIVE_CHANGED, SENSITIVE_KEY, SENSITIVE_VALUE, scrubPair, scrubString, sensitiveByKey } from './sensitive';
export { compareResources, deepEqual, redactValue } from './compare';
export type { DiffLine } from './lines';
export { alignLines, diffLines } from './lines';
export type { DistSnapshot, EnvironmentSnapshot, SnapshotItem } from './snapshot';
export { ROOT_ENVIRONMENT, isIgnoredDistPath, parseDist } from './snapshot';
export type { DiffDistOptions } from './engine';
export { diffDist, diffSnapshots, summarize } from './engine';
export type { GitLocation, ReadAtRefOptions } from './sources';
export { gitLocation, readDistAtRef, readDistDir, resolveCommit } from './sources';
export type { DetailLevel } from './render/lines';
export { DETAIL_LEVELS } from './render/lines';
export type { TextRenderOptions } from './render/text';
export { renderText } from './render/text';
export type { MarkdownRenderOptions } from './render/markdown';
export { MARKDOWN_MARKER, renderMarkdown } from './render/markdown';
export { renderJson } from './render/json';
