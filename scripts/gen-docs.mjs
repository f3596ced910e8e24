#!/usr/bin/env node
// Writes docs/formats.md from the handler tables (npm run docs).
import { writeFileSync } from 'node:fs';
import { formatsDoc } from '../dist/src/io/formats-doc.js';
writeFileSync(new URL('../docs/formats.md', import.meta.url), formatsDoc());
console.log('wrote docs/formats.md');
