// proxy/io: socket fast path selection (placeholder: documented APIs only).
import type { Socket } from 'node:net';
export interface FastPath { mode: 'internal' | 'documented'; adoptSocket?: (s: Socket) => Socket }
export function installFastPath(_mode: string): FastPath { return { mode: 'documented' }; }
