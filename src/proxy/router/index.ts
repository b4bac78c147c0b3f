// proxy/router: public surface of the compiled router (the engine passes compileRouter as its router factory).
export { CompiledRouter, compileRouter, type RouterOptions, type RouterRequest } from './router.ts';
