// control-plane (composition): public surface — start a control plane from options.
export { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane.ts';
export type { Pipeline } from './pipeline.ts';
