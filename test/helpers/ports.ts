// test/helpers: port helpers for tests — ask the OS for a free loopback port.
// `rig up` needs the same thing at run time, so tests use its helper rather than a copy of it.
export { freePort } from '../../src/local/ports.ts';
