export * from './model-endpoint';
export * from './options';
export * from './strategy';
export { SERVE_METRIC_NAMES } from './queries';
export { GpuPlacement } from './gpu';
export type { GpuNodeGroupOptions, IGpuNodePool } from './gpu';
