export * from './drift-monitor';
export { MonitorSchedule, PushgatewayRef } from './options';
export type { MonitorWebhookOptions, PushgatewayAttributes } from './options';
export { RetrainAdmission, retrainAdmissionCel } from './admission';
export type { AdmissionValidation, RetrainAdmissionCel, RetrainAdmissionProps } from './admission';
export { parseCron, longestGapMinutes } from './cron';
export type { CronSchedule } from './cron';
