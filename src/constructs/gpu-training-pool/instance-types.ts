/**
 * The NVIDIA GPU instance types a GpuTrainingPool accepts: family, GPU model, and per size the
 * number of GPUs and of EFA interfaces (0: no EFA). From the EC2 accelerated-computing instance
 * documentation; x86_64 only (the pool's AMIs are the x86_64 NVIDIA variants).
 *
 * Trainium/Inferentia (`trn1`, `trn2`, `inf2`) are deliberately absent: they need the Neuron
 * AMI and device plugin, not the NVIDIA ones this pool installs.
 */
export interface GpuInstanceSize {
  readonly gpus: number;
  /** Maximum EFA interfaces (network cards with EFA); 0 when the size has no EFA. */
  readonly efaInterfaces: number;
}

export interface GpuInstanceFamily {
  readonly gpuModel: string;
  readonly sizes: Readonly<Record<string, GpuInstanceSize>>;
}

const s = (gpus: number, efaInterfaces = 0): GpuInstanceSize => ({ gpus, efaInterfaces });

/** Known NVIDIA GPU families and their sizes. */
export const GPU_INSTANCE_FAMILIES: Readonly<Record<string, GpuInstanceFamily>> = {
  'g4dn': { gpuModel: 'T4', sizes: { 'xlarge': s(1), '2xlarge': s(1), '4xlarge': s(1), '8xlarge': s(1, 1), '12xlarge': s(4, 1), '16xlarge': s(1, 1), 'metal': s(8, 1) } },
  'g5': { gpuModel: 'A10G', sizes: { 'xlarge': s(1), '2xlarge': s(1), '4xlarge': s(1), '8xlarge': s(1, 1), '12xlarge': s(4, 1), '16xlarge': s(1, 1), '24xlarge': s(4, 1), '48xlarge': s(8, 1) } },
  'g6': { gpuModel: 'L4', sizes: { 'xlarge': s(1), '2xlarge': s(1), '4xlarge': s(1), '8xlarge': s(1, 1), '12xlarge': s(4, 1), '16xlarge': s(1, 1), '24xlarge': s(4, 1), '48xlarge': s(8, 1) } },
  'gr6': { gpuModel: 'L4', sizes: { '4xlarge': s(1), '8xlarge': s(1, 1) } },
  'g6e': { gpuModel: 'L40S', sizes: { 'xlarge': s(1), '2xlarge': s(1), '4xlarge': s(1), '8xlarge': s(1, 1), '12xlarge': s(4, 1), '16xlarge': s(1, 1), '24xlarge': s(4, 2), '48xlarge': s(8, 4) } },
  'p4d': { gpuModel: 'A100 40GB', sizes: { '24xlarge': s(8, 4) } },
  'p4de': { gpuModel: 'A100 80GB', sizes: { '24xlarge': s(8, 4) } },
  'p5': { gpuModel: 'H100', sizes: { '48xlarge': s(8, 32) } },
  'p5e': { gpuModel: 'H200', sizes: { '48xlarge': s(8, 32) } },
  'p5en': { gpuModel: 'H200', sizes: { '48xlarge': s(8, 16) } },
  'p6-b200': { gpuModel: 'B200', sizes: { '48xlarge': s(8, 8) } },
};

/** Families that are accelerators but not NVIDIA GPUs, with why they are refused. */
const NOT_NVIDIA: Readonly<Record<string, string>> = {
  trn1: 'AWS Trainium',
  trn1n: 'AWS Trainium',
  trn2: 'AWS Trainium2',
  inf1: 'AWS Inferentia',
  inf2: 'AWS Inferentia2',
  g5g: 'Graviton (arm64) with T4G GPUs',
};

/** `family.size` -> its size record, or undefined. */
export function gpuInstanceType(type: string): (GpuInstanceSize & { family: string; size: string; gpuModel: string }) | undefined {
  const dot = type.lastIndexOf('.');
  if (dot < 1) return undefined;
  const family = type.slice(0, dot);
  const size = type.slice(dot + 1);
  const f = GPU_INSTANCE_FAMILIES[family];
  const sz = f?.sizes[size];
  return sz ? { ...sz, family, size, gpuModel: f.gpuModel } : undefined;
}

/** A message saying why `family` is not accepted (naming the valid ones), or undefined when it is. */
export function checkGpuFamily(family: string): string | undefined {
  if (GPU_INSTANCE_FAMILIES[family]) return undefined;
  const known = Object.keys(GPU_INSTANCE_FAMILIES).join(', ');
  if (NOT_NVIDIA[family]) return `is ${NOT_NVIDIA[family]}, not an x86_64 NVIDIA GPU family (this pool runs the NVIDIA AMI and device plugin); use one of: ${known}`;
  return `must be an NVIDIA GPU instance family, one of: ${known}`;
}

/** A message saying why `type` is not accepted (naming the valid sizes), or undefined when it is. */
export function checkGpuInstanceType(type: string): string | undefined {
  if (gpuInstanceType(type)) return undefined;
  const dot = type.lastIndexOf('.');
  const family = dot > 0 ? type.slice(0, dot) : type;
  const familyProblem = checkGpuFamily(family);
  if (familyProblem) return `${familyProblem.replace(/^must be an NVIDIA GPU instance family/, "must be an NVIDIA GPU instance type 'family.size' of a family")}`;
  const sizes = Object.keys(GPU_INSTANCE_FAMILIES[family].sizes).map((x) => `${family}.${x}`).join(', ');
  return `is not a ${family} size; valid ones: ${sizes}`;
}
