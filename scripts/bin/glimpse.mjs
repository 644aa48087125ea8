#!/usr/bin/env node
// npm bin entry: registers tsx (the project runs TypeScript directly) and starts the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../glimpse.ts');
