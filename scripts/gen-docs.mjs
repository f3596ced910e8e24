#!/usr/bin/env node
// Writes docs/formats.md and the README's lists of supported ONNX ops and Caffe layers from the handler tables (npm run docs).
import { readFileSync, writeFileSync } from 'node:fs';
import { formatsDoc, withReadmeFormats } from '../dist/src/io/formats-doc.js';
writeFileSync(new URL('../docs/formats.md', import.meta.url), formatsDoc());
const readme = new URL('../README.md', import.meta.url);
writeFileSync(readme, withReadmeFormats(readFileSync(readme, 'utf8')));
console.log('wrote docs/formats.md and the lists in README.md');
