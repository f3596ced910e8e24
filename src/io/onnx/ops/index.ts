// Registers every op handler family (importing this module fills the table in registry.ts).
import './elementwise.js';
import './shape.js';
import './reduce.js';
import './nn.js';
import './quantize.js';
import './signal.js';
import './misc.js';
import './resize.js';
import './detection.js';
import './recurrent.js';
import './sequence.js';
import './control.js';
import './text.js';
export { supportedOps, opHandler, hasOp, type OpHandler, type AttrValue } from './registry.js';
