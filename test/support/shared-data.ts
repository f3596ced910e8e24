// Where the team's real data sets are: beside the project (../shared/data), or wherever
// DLKIT_SHARED_DATA says (.ci/run points it there from its clone in a temporary folder).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..'); // dist/test/support -> repo
export const SHARED_DATA = path.resolve(process.env.DLKIT_SHARED_DATA ?? path.join(repo, '..', 'shared', 'data'));
