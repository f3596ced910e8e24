// Applications built on training: transfer learning, feature extraction + SVM.
export { transferLearn, prepareTransfer, findHead, TRANSFER_TRAINING, type TransferOptions, type TransferSetup } from './transfer.js';
