// A local Solana JSON-RPC server backed by LiteSVM, for tests.
//
//   node rpc.mjs --port N [--slot-ms 100] [--confirm-depth 1] [--finalize-depth 8]
//
// It listens on 127.0.0.1 only and prints one line, "listening
// http://127.0.0.1:N", once it accepts requests. LiteSVM runs the real System,
// SPL Token, Token-2022, Associated Token Account, Memo and Address Lookup
// Table programs; this script adds what a validator's RPC service adds on top:
// slots, blockhashes, commitment levels, a transaction ledger and the JSON
// shapes of the Solana RPC documentation (https://solana.com/docs/rpc).
//
// Chain model
//   - A timer advances one slot every --slot-ms: LiteSVM is warped to the next
//     slot and its blockhash expired, so every slot has a new blockhash, and
//     the SlotHashes sysvar is kept, as lookup table creation reads it.
//   - A transaction sent at slot s is processed at once, confirmed once the
//     current slot is at least s+confirm-depth and finalized once it is at
//     least s+finalize-depth. Every method that takes a commitment (default
//     finalized, as on a real node) answers from the slot that has reached it:
//     account state is rolled back through the ledger's pre-transaction
//     snapshots, so a finalized read does not see a processed transfer.
//   - Block height trails the slot by a constant, as skipped slots make it on a
//     real cluster, so a client that mixes the two up is caught. A blockhash
//     stays valid for 150 blocks.
//   - sendTransaction with preflight checks the blockhash against the bank at
//     preflightCommitment (default finalized, as a real node) and simulates
//     against the latest state; a failure is the real -32002 error and
//     nothing is recorded. With skipPreflight a transaction is executed as a
//     leader would: one that fails after its fee was charged lands with its
//     error, one rejected before that (bad signature, unknown blockhash,
//     unfunded fee payer, duplicate) is dropped and never lands.
//   - requestAirdrop sends a real System transfer from a faucet key through
//     the same path, so its signature has a status and a transaction.
//
// Methods: getSlot, getBlockHeight, getLatestBlockhash, isBlockhashValid,
// getVersion, getHealth, getGenesisHash, getBalance,
// getMinimumBalanceForRentExemption, getAccountInfo, getMultipleAccounts,
// getTokenAccountsByOwner, getTokenAccountBalance, getFeeForMessage,
// sendTransaction, simulateTransaction, getSignatureStatuses,
// getSignaturesForAddress, getTransaction, requestAirdrop.
// Account data encodings: base58, base64, jsonParsed (token accounts and
// mints; anything else falls back to base64 as on a real node). Transaction
// encodings: json, jsonParsed, base64, base58.
//
// Test controls (not part of the Solana API; every name starts with svmtest_):
//   svmtest_throttle [method, n]  the next n requests that call method are
//                                 answered HTTP 429 with Retry-After: 1, as
//                                 public RPC providers do; result true
//   svmtest_pause []              stop slot advance; result the current slot
//   svmtest_resume []             restart slot advance; result the current slot
//   svmtest_advance [n]           advance n slots now (paused or not); result
//                                 the new current slot

import http from 'node:http';
import crypto from 'node:crypto';
import litesvm from 'litesvm';
import { getBase58Decoder, getBase58Encoder } from '@solana/kit';

const { LiteSVM, FailedTransactionMetadata } = litesvm;

// ---------------------------------------------------------------- flags

function parseFlags(argv) {
  const flags = { port: 0, slotMs: 100, confirmDepth: 1, finalizeDepth: 8 };
  const names = { '--port': 'port', '--slot-ms': 'slotMs', '--confirm-depth': 'confirmDepth', '--finalize-depth': 'finalizeDepth' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    const value = Number(argv[i + 1]);
    if (!key || !Number.isInteger(value) || value < 0) {
      throw new Error(`usage: rpc.mjs --port N [--slot-ms 100] [--confirm-depth 1] [--finalize-depth 8] (bad ${argv[i]} ${argv[i + 1]})`);
    }
    flags[key] = value;
  }
  if (!flags.port) throw new Error('--port is required');
  if (flags.slotMs < 1 || flags.finalizeDepth < flags.confirmDepth) {
    throw new Error('--slot-ms must be at least 1 and --finalize-depth at least --confirm-depth');
  }
  return flags;
}

const flags = parseFlags(process.argv.slice(2));

// ---------------------------------------------------------------- constants

const VERSION = '3.0.0'; // nominal solana-core version reported by getVersion and context.apiVersion
const FEATURE_SET = 0;
const HEIGHT_LAG = 1000; // block height = slot - HEIGHT_LAG
const MAX_PROCESSING_AGE = 150; // blocks a blockhash stays valid
const STATUS_CACHE_SLOTS = 300; // rooted slots getSignatureStatuses searches without history
const LAMPORTS_PER_SIGNATURE = 5000n;

const SYSTEM = '11111111111111111111111111111111';
const TOKEN = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA';
const TOKEN_2022 = 'TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb';
const ATA = 'ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL';
const MEMO = 'MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr';
const MEMO_V1 = 'Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo';
const LOOKUP_TABLE = 'AddressLookupTab1e1111111111111111111111111';
const COMPUTE_BUDGET = 'ComputeBudget111111111111111111111111111111';
const UPGRADEABLE_LOADER = 'BPFLoaderUpgradeab1e11111111111111111111111';

// Keys a real node never reports writable (agave's reserved account keys).
const RESERVED = new Set([
  LOOKUP_TABLE, 'BPFLoader2111111111111111111111111111111111', 'BPFLoader1111111111111111111111111111111111',
  UPGRADEABLE_LOADER, COMPUTE_BUDGET, 'Config1111111111111111111111111111111111111',
  'Ed25519SigVerify111111111111111111111111111', 'Feature111111111111111111111111111111111111',
  'LoaderV411111111111111111111111111111111111', 'KeccakSecp256k11111111111111111111111111111',
  'Secp256r1SigVerify1111111111111111111111111', 'Stake11111111111111111111111111111111111111', SYSTEM,
  'Vote111111111111111111111111111111111111111', 'ZkE1Gama1Proof11111111111111111111111111111',
  'ZkTokenProof1111111111111111111111111111111', 'NativeLoader1111111111111111111111111111111',
  'SysvarC1ock11111111111111111111111111111111', 'SysvarEpochRewards1111111111111111111111111',
  'SysvarEpochSchedu1e111111111111111111111111', 'SysvarFees111111111111111111111111111111111',
  'Sysvar1nstructions1111111111111111111111111', 'SysvarLastRestartS1ot1111111111111111111111',
  'SysvarRecentB1ockHashes11111111111111111111', 'SysvarRent111111111111111111111111111111111',
  'SysvarRewards111111111111111111111111111111', 'SysvarS1otHashes111111111111111111111111111',
  'SysvarS1otHistory11111111111111111111111111', 'SysvarStakeHistory1111111111111111111111111',
  'Sysvar1111111111111111111111111111111111111',
]);

// Names of LiteSVM's numeric error enums, in enum order (litesvm internal.d.ts).
const TX_ERRORS = [
  'AccountInUse', 'AccountLoadedTwice', 'AccountNotFound', 'ProgramAccountNotFound', 'InsufficientFundsForFee',
  'InvalidAccountForFee', 'AlreadyProcessed', 'BlockhashNotFound', 'CallChainTooDeep', 'MissingSignatureForFee',
  'InvalidAccountIndex', 'SignatureFailure', 'InvalidProgramForExecution', 'SanitizeFailure', 'ClusterMaintenance',
  'AccountBorrowOutstanding', 'WouldExceedMaxBlockCostLimit', 'UnsupportedVersion', 'InvalidWritableAccount',
  'WouldExceedMaxAccountCostLimit', 'WouldExceedAccountDataBlockLimit', 'TooManyAccountLocks',
  'AddressLookupTableNotFound', 'InvalidAddressLookupTableOwner', 'InvalidAddressLookupTableData',
  'InvalidAddressLookupTableIndex', 'InvalidRentPayingAccount', 'WouldExceedMaxVoteCostLimit',
  'WouldExceedAccountDataTotalLimit', 'MaxLoadedAccountsDataSizeExceeded', 'ResanitizationNeeded',
  'InvalidLoadedAccountsDataSizeLimit', 'UnbalancedTransaction', 'ProgramCacheHitMaxLimit', 'CommitCancelled',
];
const IX_ERRORS = [
  'GenericError', 'InvalidArgument', 'InvalidInstructionData', 'InvalidAccountData', 'AccountDataTooSmall',
  'InsufficientFunds', 'IncorrectProgramId', 'MissingRequiredSignature', 'AccountAlreadyInitialized',
  'UninitializedAccount', 'UnbalancedInstruction', 'ModifiedProgramId', 'ExternalAccountLamportSpend',
  'ExternalAccountDataModified', 'ReadonlyLamportChange', 'ReadonlyDataModified', 'DuplicateAccountIndex',
  'ExecutableModified', 'RentEpochModified', 'NotEnoughAccountKeys', 'AccountDataSizeChanged',
  'AccountNotExecutable', 'AccountBorrowFailed', 'AccountBorrowOutstanding', 'DuplicateAccountOutOfSync',
  'InvalidError', 'ExecutableDataModified', 'ExecutableLamportChange', 'ExecutableAccountNotRentExempt',
  'UnsupportedProgramId', 'CallDepth', 'MissingAccount', 'ReentrancyNotAllowed', 'MaxSeedLengthExceeded',
  'InvalidSeeds', 'InvalidRealloc', 'ComputationalBudgetExceeded', 'PrivilegeEscalation',
  'ProgramEnvironmentSetupFailure', 'ProgramFailedToComplete', 'ProgramFailedToCompile', 'Immutable',
  'IncorrectAuthority', 'AccountNotRentExempt', 'InvalidAccountOwner', 'ArithmeticOverflow', 'UnsupportedSysvar',
  'IllegalOwner', 'MaxAccountsDataAllocationsExceeded', 'MaxAccountsExceeded', 'MaxInstructionTraceLengthExceeded',
  'BuiltinProgramsMustConsumeComputeUnits', 'BorshIoError',
];
// Display strings of the transaction errors a client meets most, for the
// "Transaction simulation failed: ..." message.
const TX_ERROR_TEXT = {
  AccountInUse: 'Account in use',
  AccountNotFound: 'Attempt to debit an account but found no record of a prior credit.',
  ProgramAccountNotFound: 'Attempt to load a program that does not exist',
  InsufficientFundsForFee: 'Insufficient funds for fee',
  AlreadyProcessed: 'This transaction has already been processed',
  BlockhashNotFound: 'Blockhash not found',
  SignatureFailure: 'Transaction did not pass signature verification',
  AddressLookupTableNotFound: 'Transaction loads an address table account that doesn\'t exist',
  InvalidAddressLookupTableIndex: 'Transaction address table lookup uses an invalid index',
};
const EXTENSIONS = [
  'uninitialized', 'transferFeeConfig', 'transferFeeAmount', 'mintCloseAuthority', 'confidentialTransferMint',
  'confidentialTransferAccount', 'defaultAccountState', 'immutableOwner', 'memoTransfer', 'nonTransferable',
  'interestBearingConfig', 'cpiGuard', 'permanentDelegate', 'nonTransferableAccount', 'transferHook',
  'transferHookAccount', 'confidentialTransferFeeConfig', 'confidentialTransferFeeAmount', 'metadataPointer',
  'tokenMetadata', 'groupPointer', 'tokenGroup', 'groupMemberPointer', 'tokenGroupMember', 'confidentialMintBurn',
  'scaledUiAmountConfig', 'pausableConfig', 'pausableAccount',
];

// ---------------------------------------------------------------- encodings

const b58enc = getBase58Encoder();
const b58dec = getBase58Decoder();
const toB58 = (bytes) => b58dec.decode(bytes);
const fromB58 = (s) => new Uint8Array(b58enc.encode(s));
const toB64 = (bytes) => Buffer.from(bytes).toString('base64');
const keyAt = (bytes, off) => toB58(bytes.subarray(off, off + 32));

// stringify writes JSON with bigints as plain numbers, as a node writes u64s;
// undefined object fields are left out.
function stringify(v) {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'bigint': return v.toString();
    case 'number': return Number.isFinite(v) ? JSON.stringify(v) : 'null';
    case 'string': return JSON.stringify(v);
    case 'boolean': return v ? 'true' : 'false';
  }
  if (Array.isArray(v)) return '[' + v.map(stringify).join(',') + ']';
  const parts = [];
  for (const [k, x] of Object.entries(v)) {
    if (x !== undefined) parts.push(JSON.stringify(k) + ':' + stringify(x));
  }
  return '{' + parts.join(',') + '}';
}

class Reader {
  constructor(bytes) { this.b = bytes; this.o = 0; this.v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength); }
  need(n) { if (this.o + n > this.b.length) throw new Error('unexpected end of data'); }
  u8() { this.need(1); return this.b[this.o++]; }
  u16() { this.need(2); const x = this.v.getUint16(this.o, true); this.o += 2; return x; }
  u32() { this.need(4); const x = this.v.getUint32(this.o, true); this.o += 4; return x; }
  u64() { this.need(8); const x = this.v.getBigUint64(this.o, true); this.o += 8; return x; }
  bytes(n) { this.need(n); const x = this.b.subarray(this.o, this.o + n); this.o += n; return x; }
  key() { return toB58(this.bytes(32)); }
  shortvec() {
    let n = 0;
    for (let shift = 0; shift < 21; shift += 7) {
      const b = this.u8();
      n |= (b & 0x7f) << shift;
      if (!(b & 0x80)) return n;
    }
    throw new Error('bad compact-u16');
  }
  rest() { return this.b.subarray(this.o); }
}

function shortvec(n) {
  const out = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if (n === 0) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}

// decodeTransaction parses a wire transaction, legacy or v0.
function decodeTransaction(wire) {
  const r = new Reader(wire);
  const signatures = [];
  for (let n = r.shortvec(); n > 0; n--) signatures.push(toB58(r.bytes(64)));
  const messageBytes = r.rest();
  const message = decodeMessage(messageBytes);
  if (signatures.length !== message.header.numRequiredSignatures) {
    throw new Error('signature count does not match the message header');
  }
  return { signatures, message, messageBytes };
}

function decodeMessage(bytes) {
  const r = new Reader(bytes);
  let version = 'legacy';
  if (bytes[0] & 0x80) {
    version = r.u8() & 0x7f;
    if (version !== 0) throw new Error(`unsupported message version ${version}`);
  }
  const header = { numRequiredSignatures: r.u8(), numReadonlySignedAccounts: r.u8(), numReadonlyUnsignedAccounts: r.u8() };
  const accountKeys = [];
  for (let n = r.shortvec(); n > 0; n--) accountKeys.push(r.key());
  const recentBlockhash = r.key();
  const instructions = [];
  for (let n = r.shortvec(); n > 0; n--) {
    const programIdIndex = r.u8();
    const accounts = [...r.bytes(r.shortvec())];
    const data = new Uint8Array(r.bytes(r.shortvec()));
    instructions.push({ programIdIndex, accounts, data });
  }
  const addressTableLookups = [];
  if (version === 0) {
    for (let n = r.shortvec(); n > 0; n--) {
      const accountKey = r.key();
      const writableIndexes = [...r.bytes(r.shortvec())];
      const readonlyIndexes = [...r.bytes(r.shortvec())];
      addressTableLookups.push({ accountKey, writableIndexes, readonlyIndexes });
    }
  }
  if (r.o !== bytes.length) throw new Error('trailing bytes after the message');
  if (header.numRequiredSignatures === 0 || accountKeys.length < header.numRequiredSignatures) {
    throw new Error('message header does not fit its account keys');
  }
  return { version, header, accountKeys, recentBlockhash, instructions, addressTableLookups };
}

// ---------------------------------------------------------------- errors

class RpcError extends Error {
  constructor(code, message, data) { super(message); this.code = code; this.data = data; }
}
const invalidParams = (msg) => new RpcError(-32602, msg);

// txError turns a LiteSVM error into the JSON a node writes for a
// TransactionError.
function txError(e) {
  if (typeof e === 'number') return TX_ERRORS[e] ?? `Unknown(${e})`;
  const kind = e?.constructor?.name;
  switch (kind) {
    case 'TransactionErrorInstructionError': return { InstructionError: [e.index, ixError(e.err())] };
    case 'TransactionErrorDuplicateInstruction': return { DuplicateInstruction: e.index };
    case 'TransactionErrorInsufficientFundsForRent': return { InsufficientFundsForRent: { account_index: e.accountIndex } };
    case 'TransactionErrorProgramExecutionTemporarilyRestricted':
      return { ProgramExecutionTemporarilyRestricted: { account_index: e.accountIndex } };
  }
  return String(e);
}

function ixError(e) {
  if (typeof e === 'number') return IX_ERRORS[e] ?? `Unknown(${e})`;
  if (e?.constructor?.name === 'InstructionErrorCustom') return { Custom: e.code };
  if (e?.constructor?.name === 'InstructionErrorBorshIo') return e.msg ? { BorshIoError: e.msg } : 'BorshIoError';
  return String(e);
}

function txErrorText(err) {
  if (typeof err === 'string') return TX_ERROR_TEXT[err] ?? err;
  if (err.InstructionError) {
    const [index, inner] = err.InstructionError;
    const text = typeof inner === 'string' ? inner : inner.Custom !== undefined ? `custom program error: 0x${inner.Custom.toString(16)}` : stringify(inner);
    return `Error processing Instruction ${index}: ${text}`;
  }
  return stringify(err);
}

function simulationFailed(err, logs, unitsConsumed) {
  return new RpcError(-32002, `Transaction simulation failed: ${txErrorText(err)}`, {
    accounts: null, err, innerInstructions: null, loadedAccountsDataSize: 0, logs,
    replacementBlockhash: null, returnData: null, unitsConsumed,
  });
}

// ---------------------------------------------------------------- the chain

const svm = new LiteSVM().withLamports(2n ** 62n).withBlockhashCheck(false);

let slot = Number(svm.getClock().slot);
const genesisSlot = slot;
let paused = false;
const height = (s) => s - HEIGHT_LAG;
const slotInfo = new Map(); // slot -> {blockhash, time}
const blockhashes = new Map(); // blockhash -> slot
const slotHashes = []; // the SlotHashes sysvar, newest first

function sealSlot() {
  const time = Math.floor(Date.now() / 1000);
  const clock = svm.getClock();
  clock.unixTimestamp = BigInt(time);
  svm.setClock(clock);
  const blockhash = svm.latestBlockhash();
  // Kept for the server's life (a few hundred bytes a slot): old
  // transactions keep their blockTime and old blockhashes stay known, if
  // expired.
  slotInfo.set(slot, { blockhash, time });
  blockhashes.set(blockhash, slot);
}

function advance(n) {
  for (let i = 0; i < n; i++) {
    slotHashes.unshift({ slot: BigInt(slot), hash: slotInfo.get(slot).blockhash });
    if (slotHashes.length > 512) slotHashes.pop();
    slot += 1;
    svm.warpToSlot(BigInt(slot));
    svm.expireBlockhash();
    svm.setSlotHashes(slotHashes);
    sealSlot();
  }
}

sealSlot();
const genesisHash = slotInfo.get(slot).blockhash;
// Start finalize-depth slots past genesis, so every commitment level names a
// slot that exists and nothing sent later is final before its time.
advance(flags.finalizeDepth);

const depth = { processed: 0, confirmed: flags.confirmDepth, finalized: flags.finalizeDepth };

// slotAt is the newest slot that has reached a commitment level.
function slotAt(commitment) {
  const c = commitment ?? 'finalized';
  if (!(c in depth)) throw invalidParams(`Invalid param: unknown commitment ${JSON.stringify(c)}`);
  return Math.max(genesisSlot, slot - depth[c]);
}

function statusOf(txSlot) {
  if (txSlot <= slotAt('finalized')) return 'finalized';
  if (txSlot <= slotAt('confirmed')) return 'confirmed';
  return 'processed';
}

// blockhashValidAt tells whether a transaction with this blockhash is accepted
// by the bank at slot s.
function blockhashValidAt(blockhash, s) {
  const made = blockhashes.get(blockhash);
  return made !== undefined && made <= s && height(s) <= height(made) + MAX_PROCESSING_AGE;
}

// ---------------------------------------------------------------- accounts

function snapshot(address) {
  const a = svm.inner.getAccount(fromB58(address));
  if (!a || a.lamports() === 0n) return null;
  return { lamports: a.lamports(), data: new Uint8Array(a.data()), owner: toB58(a.owner()), executable: a.executable(), rentEpoch: a.rentEpoch() };
}

const ledger = new Map(); // signature -> record
const records = []; // records in processing order
const byAddress = new Map(); // address -> records that name it, in processing order

// accountAt is an account's state at the slot that reached commitment: the
// pre-transaction snapshot of the first later transaction that wrote it, or
// the current state.
function accountAt(address, s) {
  const list = byAddress.get(address);
  let state;
  let found = false;
  if (list) {
    for (let i = list.length - 1; i >= 0 && list[i].slot > s; i--) {
      const j = list[i].accountKeys.indexOf(address);
      if (list[i].writable[j]) { state = list[i].pre[j]; found = true; }
    }
  }
  return found ? state : snapshot(address);
}

function checkMinContextSlot(config, s) {
  if (config?.minContextSlot != null && s < config.minContextSlot) {
    throw new RpcError(-32016, 'Minimum context slot has not been reached', { contextSlot: s });
  }
}

function parseKey(s, what = 'pubkey') {
  if (typeof s !== 'string') throw invalidParams(`Invalid param: ${what} must be a base-58 string`);
  let bytes;
  try { bytes = fromB58(s); } catch { throw invalidParams('Invalid param: Invalid'); }
  if (bytes.length !== 32) throw invalidParams('Invalid param: WrongSize');
  return s;
}

const context = (s) => ({ slot: s, apiVersion: VERSION });

// ---------------------------------------------------------------- token state

function tokenAmount(amount, decimals) {
  const digits = amount.toString().padStart(decimals + 1, '0');
  let s = decimals > 0 ? `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}` : digits;
  if (decimals > 0) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return { amount: amount.toString(), decimals, uiAmount: Number(amount) / 10 ** decimals, uiAmountString: s };
}

function coptionKey(d, off) {
  return new DataView(d.buffer, d.byteOffset).getUint32(off, true) === 1 ? keyAt(d, off + 4) : null;
}

const isTokenProgram = (p) => p === TOKEN || p === TOKEN_2022;

// tokenKind is 'mint', 'account' or null for an account's data.
function tokenKind(acct) {
  if (!acct || !isTokenProgram(acct.owner)) return null;
  const n = acct.data.length;
  if (n === 82) return 'mint';
  if (n === 165) return 'account';
  if (acct.owner === TOKEN_2022 && n > 165) return acct.data[165] === 1 ? 'mint' : acct.data[165] === 2 ? 'account' : null;
  return null;
}

function decodeTokenAccount(acct) {
  const d = acct.data;
  const v = new DataView(d.buffer, d.byteOffset);
  const state = d[108];
  if (state === 0) return null;
  return {
    mint: keyAt(d, 0), owner: keyAt(d, 32), amount: v.getBigUint64(64, true), delegate: coptionKey(d, 72),
    state: state === 2 ? 'frozen' : 'initialized',
    native: v.getUint32(109, true) === 1 ? v.getBigUint64(113, true) : null,
    delegatedAmount: v.getBigUint64(121, true), closeAuthority: coptionKey(d, 129),
  };
}

function decodeMint(acct) {
  const d = acct.data;
  const v = new DataView(d.buffer, d.byteOffset);
  return {
    mintAuthority: coptionKey(d, 0), supply: v.getBigUint64(36, true), decimals: d[44],
    isInitialized: d[45] === 1, freezeAuthority: coptionKey(d, 46),
  };
}

function extensions(acct) {
  const d = acct.data;
  if (acct.owner !== TOKEN_2022 || d.length <= 166) return undefined;
  const v = new DataView(d.buffer, d.byteOffset);
  const out = [];
  for (let o = 166; o + 4 <= d.length;) {
    const type = v.getUint16(o, true);
    const len = v.getUint16(o + 2, true);
    const val = d.subarray(o + 4, o + 4 + len);
    o += 4 + len;
    if (type === 0) break;
    out.push(extension(type, val));
  }
  return out;
}

function extension(type, val) {
  const name = EXTENSIONS[type];
  const v = new DataView(val.buffer, val.byteOffset, val.byteLength);
  const optKey = (off) => (val.subarray(off, off + 32).some((b) => b !== 0) ? keyAt(val, off) : null);
  const fee = (off) => ({ epoch: v.getBigUint64(off, true), maximumFee: v.getBigUint64(off + 8, true), transferFeeBasisPoints: v.getUint16(off + 16, true) });
  switch (name) {
    case 'immutableOwner': case 'nonTransferable': case 'nonTransferableAccount':
      return { extension: name };
    case 'transferFeeAmount': return { extension: name, state: { withheldAmount: v.getBigUint64(0, true) } };
    case 'mintCloseAuthority': return { extension: name, state: { closeAuthority: optKey(0) } };
    case 'permanentDelegate': return { extension: name, state: { delegate: optKey(0) } };
    case 'memoTransfer': return { extension: name, state: { requireIncomingTransferMemos: val[0] === 1 } };
    case 'transferFeeConfig':
      return {
        extension: name, state: {
          transferFeeConfigAuthority: optKey(0), withdrawWithheldAuthority: optKey(32), withheldAmount: v.getBigUint64(64, true),
          olderTransferFee: fee(72), newerTransferFee: fee(90),
        },
      };
  }
  return { extension: 'unparseableExtension' };
}

// mintDecimals reads a mint's decimals at slot s, preferring the given
// snapshots (a transaction's own view of the mint).
function mintDecimals(mint, s, snapshots) {
  const acct = snapshots?.get(mint) ?? accountAt(mint, s);
  return tokenKind(acct) === 'mint' ? decodeMint(acct).decimals : null;
}

function parsedAccountData(acct, s) {
  const kind = tokenKind(acct);
  const program = acct.owner === TOKEN ? 'spl-token' : 'spl-token-2022';
  if (kind === 'mint') {
    const m = decodeMint(acct);
    if (!m.isInitialized) return null;
    const info = {
      decimals: m.decimals, freezeAuthority: m.freezeAuthority, isInitialized: true,
      mintAuthority: m.mintAuthority, supply: m.supply.toString(), extensions: extensions(acct),
    };
    return { program, parsed: { info, type: 'mint' }, space: acct.data.length };
  }
  if (kind === 'account') {
    const a = decodeTokenAccount(acct);
    if (!a) return null;
    const decimals = mintDecimals(a.mint, s);
    if (decimals === null) return null;
    const info = { isNative: a.native !== null, mint: a.mint, owner: a.owner, state: a.state, tokenAmount: tokenAmount(a.amount, decimals) };
    if (a.delegate) { info.delegate = a.delegate; info.delegatedAmount = tokenAmount(a.delegatedAmount, decimals); }
    if (a.native !== null) info.rentExemptReserve = tokenAmount(a.native, decimals);
    if (a.closeAuthority) info.closeAuthority = a.closeAuthority;
    info.extensions = extensions(acct);
    return { program, parsed: { info, type: 'account' }, space: acct.data.length };
  }
  return null;
}

// encodeAccount writes an account as getAccountInfo does. Without an
// encoding a node writes the legacy base58 string ("binary"), except
// getMultipleAccounts, which defaults to base64.
function encodeAccount(acct, config, s, defaultEncoding = 'binary') {
  if (!acct) return null;
  const encoding = config?.encoding ?? defaultEncoding;
  let data = acct.data;
  const slice = config?.dataSlice;
  if (slice && encoding !== 'jsonParsed') data = data.subarray(slice.offset ?? 0, (slice.offset ?? 0) + (slice.length ?? 0));
  let out;
  switch (encoding) {
    case 'binary': case 'base58':
      if (data.length > 128) {
        throw new RpcError(-32600, 'Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.');
      }
      out = encoding === 'base58' ? [toB58(data), 'base58'] : toB58(data);
      break;
    case 'base64': out = [toB64(data), 'base64']; break;
    case 'jsonParsed': out = parsedAccountData(acct, s) ?? [toB64(data), 'base64']; break;
    default: throw invalidParams(`Invalid param: unsupported encoding ${JSON.stringify(encoding)}`);
  }
  return { data: out, executable: acct.executable, lamports: acct.lamports, owner: acct.owner, rentEpoch: acct.rentEpoch, space: acct.data.length };
}

// ---------------------------------------------------------------- transactions

function lookupTableAddresses(table) {
  const acct = snapshot(table);
  if (!acct || acct.owner !== LOOKUP_TABLE || acct.data.length < 56) return null;
  const out = [];
  for (let o = 56; o + 32 <= acct.data.length; o += 32) out.push(keyAt(acct.data, o));
  return out;
}

// resolveKeys lists a message's account keys, loaded addresses included, and
// who signs and writes each. Null when a lookup cannot be resolved.
function resolveKeys(message) {
  const loaded = { writable: [], readonly: [] };
  for (const l of message.addressTableLookups) {
    const table = lookupTableAddresses(l.accountKey);
    if (!table) return null;
    for (const i of l.writableIndexes) { if (i >= table.length) return null; loaded.writable.push(table[i]); }
    for (const i of l.readonlyIndexes) { if (i >= table.length) return null; loaded.readonly.push(table[i]); }
  }
  const { header, accountKeys: statics } = message;
  const keys = [...statics, ...loaded.writable, ...loaded.readonly];
  const programs = new Set(message.instructions.map((ix) => ix.programIdIndex));
  const upgradeable = keys.includes(UPGRADEABLE_LOADER);
  const writable = keys.map((key, i) => {
    let w;
    if (i < header.numRequiredSignatures) w = i < header.numRequiredSignatures - header.numReadonlySignedAccounts;
    else if (i < statics.length) w = i < statics.length - header.numReadonlyUnsignedAccounts;
    else w = i < statics.length + loaded.writable.length;
    return w && !RESERVED.has(key) && !(programs.has(i) && !upgradeable);
  });
  const signer = keys.map((_, i) => i < header.numRequiredSignatures);
  const source = keys.map((_, i) => (i < statics.length ? 'transaction' : 'lookupTable'));
  return { keys, loaded, writable, signer, source };
}

function tokenBalances(states, s, mints) {
  const out = [];
  states.forEach((acct, i) => {
    if (tokenKind(acct) !== 'account') return;
    const a = decodeTokenAccount(acct);
    if (!a) return;
    const decimals = mintDecimals(a.mint, s, mints);
    if (decimals === null) return;
    out.push({ accountIndex: i, mint: a.mint, owner: a.owner, programId: acct.owner, uiTokenAmount: tokenAmount(a.amount, decimals) });
  });
  return out;
}

function feeOf(meta, message) {
  const m = /fee: (\d+)/g;
  let fee = null;
  for (let x; (x = m.exec(meta.toString()));) fee = BigInt(x[1]);
  return fee ?? LAMPORTS_PER_SIGNATURE * BigInt(message.header.numRequiredSignatures);
}

function memoOf(message, keys) {
  const memos = [];
  for (const ix of message.instructions) {
    const program = keys[ix.programIdIndex];
    if (program !== MEMO && program !== MEMO_V1) continue;
    const text = Buffer.from(ix.data).toString('utf8');
    memos.push(`[${ix.data.length}] ${text}`);
  }
  return memos.length ? memos.join('; ') : null;
}

function runTransaction(wire, version, simulate) {
  if (version === 'legacy') return simulate ? svm.inner.simulateLegacyTransaction(wire) : svm.inner.sendLegacyTransaction(wire);
  return simulate ? svm.inner.simulateVersionedTransaction(wire) : svm.inner.sendVersionedTransaction(wire);
}

function decodeWire(encoded, encoding) {
  if (typeof encoded !== 'string') throw invalidParams('Invalid params: transaction must be a string');
  let wire;
  if (encoding === 'base64') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) throw invalidParams('invalid base64 encoding');
    wire = new Uint8Array(Buffer.from(encoded, 'base64'));
  } else if (encoding === undefined || encoding === 'base58') {
    try { wire = fromB58(encoded); } catch { throw invalidParams('invalid base58 encoding'); }
  } else {
    throw invalidParams(`Invalid params: unsupported encoding: ${encoding}. Supported encodings: base58, base64`);
  }
  try {
    return { wire, tx: decodeTransaction(wire) };
  } catch (e) {
    throw invalidParams(`failed to deserialize solana_transaction::versioned::VersionedTransaction: ${e.message}`);
  }
}

// submit is sendTransaction: preflight when asked, then execution as the
// leader would do it. It returns the signature whether or not it lands.
function submit(wire, tx, opts) {
  const signature = tx.signatures[0];
  const { message } = tx;
  if (!opts.skipPreflight) {
    if (ledger.has(signature)) throw simulationFailed('AlreadyProcessed', [], 0);
    if (!blockhashValidAt(message.recentBlockhash, slotAt(opts.preflightCommitment))) {
      throw simulationFailed('BlockhashNotFound', [], 0);
    }
    const sim = runTransaction(wire, message.version, true);
    if (sim instanceof FailedTransactionMetadata) {
      const err = txError(sim.err());
      if (err === 'SignatureFailure') throw new RpcError(-32003, 'Transaction signature verification failure');
      throw simulationFailed(err, sim.meta().logs(), sim.meta().computeUnitsConsumed());
    }
  }
  if (ledger.has(signature) || !blockhashValidAt(message.recentBlockhash, slot)) return signature;
  const resolved = resolveKeys(message);
  if (!resolved) {
    runTransaction(wire, message.version, false); // LiteSVM rejects it too; nothing lands
    return signature;
  }
  const { keys } = resolved;
  const pre = keys.map(snapshot);
  const result = runTransaction(wire, message.version, false);
  const post = keys.map(snapshot);
  const failed = result instanceof FailedTransactionMetadata;
  const meta = failed ? result.meta() : result;
  const feePaid = (pre[0]?.lamports ?? 0n) !== (post[0]?.lamports ?? 0n);
  if (failed && !feePaid) return signature; // rejected before the fee: dropped
  const mints = new Map();
  for (const states of [pre, post]) {
    states.forEach((acct, i) => { if (tokenKind(acct) === 'mint' && !mints.has(keys[i])) mints.set(keys[i], acct); });
  }
  const record = {
    signature, signatures: tx.signatures, slot, seq: records.length, wire, message, version: message.version, ...resolved, accountKeys: keys, pre,
    err: failed ? txError(result.err()) : null,
    fee: feeOf(meta, message),
    preBalances: pre.map((a) => a?.lamports ?? 0n),
    postBalances: post.map((a) => a?.lamports ?? 0n),
    preTokenBalances: tokenBalances(pre, slot, mints),
    postTokenBalances: tokenBalances(post, slot, mints),
    innerInstructions: meta.innerInstructions().map((list, index) => ({
      index,
      instructions: list.map((ii) => {
        const c = ii.instruction();
        return { programIdIndex: c.programIdIndex(), accounts: [...c.accounts()], data: new Uint8Array(c.data()), stackHeight: ii.stackHeight() };
      }),
    })).filter((x) => x.instructions.length > 0),
    logs: meta.logs(),
    computeUnitsConsumed: meta.computeUnitsConsumed(),
    returnData: meta.returnData(),
    memo: memoOf(message, keys),
  };
  ledger.set(signature, record);
  records.push(record);
  for (const key of new Set(keys)) {
    if (!byAddress.has(key)) byAddress.set(key, []);
    byAddress.get(key).push(record);
  }
  return signature;
}

// ---------------------------------------------------------------- instruction parsing

function parseInstruction(programId, accounts, data) {
  try {
    switch (programId) {
      case TOKEN: return { program: 'spl-token', programId, parsed: parseToken(accounts, data, programId) };
      case TOKEN_2022: return { program: 'spl-token-2022', programId, parsed: parseToken(accounts, data, programId) };
      case ATA: return { program: 'spl-associated-token-account', programId, parsed: parseAta(accounts, data) };
      case MEMO: case MEMO_V1: return { program: 'spl-memo', programId, parsed: new TextDecoder('utf-8', { fatal: true }).decode(data) };
      case SYSTEM: return { program: 'system', programId, parsed: parseSystem(accounts, data) };
      case LOOKUP_TABLE: return { program: 'address-lookup-table', programId, parsed: parseLookupTable(accounts, data) };
    }
  } catch {
    // an instruction a parser does not understand is shown partially decoded, as a node does
  }
  return null;
}

function need(accounts, n) {
  if (accounts.length < n) throw new Error('not enough accounts');
}

// withAuthority adds "authority", or "multisigAuthority" and "signers".
function withAuthority(info, accounts, at, name = 'authority') {
  if (accounts.length > at + 1) {
    info[`multisig${name[0].toUpperCase()}${name.slice(1)}`] = accounts[at];
    info.signers = accounts.slice(at + 1);
  } else {
    info[name] = accounts[at];
  }
  return info;
}

function parseToken(a, data, programId) {
  const r = new Reader(data);
  const tag = r.u8();
  const t = (type, info) => ({ info, type });
  const amount = () => r.u64().toString();
  const checked = () => { const x = r.u64(); return tokenAmount(x, r.u8()); };
  const coption = () => (r.u8() === 1 ? r.key() : null);
  switch (tag) {
    case 0: { need(a, 2); const decimals = r.u8(); const mintAuthority = r.key(); const freeze = coption();
      const info = { mint: a[0], decimals, mintAuthority, rentSysvar: a[1] };
      if (freeze) info.freezeAuthority = freeze;
      return t('initializeMint', info); }
    case 1: need(a, 4); return t('initializeAccount', { account: a[0], mint: a[1], owner: a[2], rentSysvar: a[3] });
    case 3: need(a, 3); return t('transfer', withAuthority({ source: a[0], destination: a[1], amount: amount() }, a, 2));
    case 4: need(a, 3); return t('approve', withAuthority({ source: a[0], delegate: a[1], amount: amount() }, a, 2, 'owner'));
    case 5: need(a, 2); return t('revoke', withAuthority({ source: a[0] }, a, 1, 'owner'));
    case 7: need(a, 3); return t('mintTo', withAuthority({ mint: a[0], account: a[1], amount: amount() }, a, 2, 'mintAuthority'));
    case 8: need(a, 3); return t('burn', withAuthority({ account: a[0], mint: a[1], amount: amount() }, a, 2));
    case 9: need(a, 3); return t('closeAccount', withAuthority({ account: a[0], destination: a[1] }, a, 2, 'owner'));
    case 10: need(a, 3); return t('freezeAccount', withAuthority({ account: a[0], mint: a[1] }, a, 2, 'freezeAuthority'));
    case 11: need(a, 3); return t('thawAccount', withAuthority({ account: a[0], mint: a[1] }, a, 2, 'freezeAuthority'));
    case 12: need(a, 4); return t('transferChecked', withAuthority({ source: a[0], mint: a[1], destination: a[2], tokenAmount: checked() }, a, 3));
    case 13: need(a, 4); return t('approveChecked', withAuthority({ source: a[0], mint: a[1], delegate: a[2], tokenAmount: checked() }, a, 3, 'owner'));
    case 14: need(a, 3); return t('mintToChecked', withAuthority({ mint: a[0], account: a[1], tokenAmount: checked() }, a, 2, 'mintAuthority'));
    case 15: need(a, 3); return t('burnChecked', withAuthority({ account: a[0], mint: a[1], tokenAmount: checked() }, a, 2));
    case 16: need(a, 3); return t('initializeAccount2', { account: a[0], mint: a[1], owner: r.key(), rentSysvar: a[2] });
    case 17: need(a, 1); return t('syncNative', { account: a[0] });
    case 18: need(a, 2); return t('initializeAccount3', { account: a[0], mint: a[1], owner: r.key() });
    case 20: { need(a, 1); const decimals = r.u8(); const mintAuthority = r.key(); const freeze = coption();
      const info = { mint: a[0], decimals, mintAuthority };
      if (freeze) info.freezeAuthority = freeze;
      return t('initializeMint2', info); }
    case 21: {
      need(a, 1);
      const info = { mint: a[0] };
      if (programId === TOKEN_2022) {
        const types = [];
        while (r.o + 2 <= data.length) types.push(EXTENSIONS[r.u16()] ?? 'unparseableExtension');
        info.extensionTypes = types;
      }
      return t('getAccountDataSize', info);
    }
    case 22: need(a, 1); return t('initializeImmutableOwner', { account: a[0] });
    case 23: need(a, 1); return t('amountToUiAmount', { mint: a[0], amount: amount() });
    case 24: need(a, 1); return t('uiAmountToAmount', { mint: a[0], uiAmount: Buffer.from(r.rest()).toString('utf8') });
    case 26: {
      if (programId !== TOKEN_2022 || r.u8() !== 1) break;
      need(a, 4);
      const x = r.u64();
      const decimals = r.u8();
      const fee = r.u64();
      return t('transferCheckedWithFee', withAuthority({
        source: a[0], mint: a[1], destination: a[2], tokenAmount: tokenAmount(x, decimals), feeAmount: tokenAmount(fee, decimals),
      }, a, 3));
    }
  }
  throw new Error('unparsed token instruction');
}

function parseAta(a, data) {
  const tag = data.length === 0 ? 0 : data[0];
  if (tag === 0 || tag === 1) {
    need(a, 6);
    return { info: { account: a[1], mint: a[3], source: a[0], systemProgram: a[4], tokenProgram: a[5], wallet: a[2] }, type: tag === 0 ? 'create' : 'createIdempotent' };
  }
  if (tag === 2) {
    need(a, 7);
    return { info: { destination: a[2], nestedMint: a[1], nestedOwner: a[3], nestedSource: a[0], ownerMint: a[4], tokenProgram: a[6], wallet: a[5] }, type: 'recoverNested' };
  }
  throw new Error('unparsed associated token account instruction');
}

function parseSystem(a, data) {
  const r = new Reader(data);
  const t = (type, info) => ({ info, type });
  const seed = () => { const n = Number(r.u64()); return Buffer.from(r.bytes(n)).toString('utf8'); };
  switch (r.u32()) {
    case 0: { need(a, 2); const lamports = r.u64(); const space = r.u64(); const owner = r.key();
      return t('createAccount', { lamports, newAccount: a[1], owner, source: a[0], space }); }
    case 1: need(a, 1); return t('assign', { account: a[0], owner: r.key() });
    case 2: need(a, 2); return t('transfer', { destination: a[1], lamports: r.u64(), source: a[0] });
    case 3: { need(a, 2); const base = r.key(); const s = seed(); const lamports = r.u64(); const space = r.u64(); const owner = r.key();
      return t('createAccountWithSeed', { base, lamports, newAccount: a[1], owner, seed: s, source: a[0], space }); }
    case 4: need(a, 3); return t('advanceNonce', { nonceAccount: a[0], nonceAuthority: a[2], recentBlockhashesSysvar: a[1] });
    case 8: need(a, 1); return t('allocate', { account: a[0], space: r.u64() });
    case 9: { need(a, 2); const base = r.key(); const s = seed(); const space = r.u64(); const owner = r.key();
      return t('allocateWithSeed', { account: a[0], base, owner, seed: s, space }); }
    case 10: { need(a, 2); const base = r.key(); const s = seed(); const owner = r.key();
      return t('assignWithSeed', { account: a[0], base, owner, seed: s }); }
    case 11: { need(a, 3); const lamports = r.u64(); const s = seed(); const owner = r.key();
      return t('transferWithSeed', { destination: a[2], lamports, source: a[0], sourceBase: a[1], sourceOwner: owner, sourceSeed: s }); }
  }
  throw new Error('unparsed system instruction');
}

function parseLookupTable(a, data) {
  const r = new Reader(data);
  switch (r.u32()) {
    case 0: {
      need(a, 4);
      const recentSlot = r.u64();
      const bumpSeed = r.u8();
      return { info: { bumpSeed, lookupTableAccount: a[0], lookupTableAuthority: a[1], payerAccount: a[2], recentSlot, systemProgram: a[3] }, type: 'createLookupTable' };
    }
    case 2: {
      need(a, 2);
      const n = Number(r.u64());
      const newAddresses = [];
      for (let i = 0; i < n; i++) newAddresses.push(r.key());
      const info = { lookupTableAccount: a[0], lookupTableAuthority: a[1], newAddresses };
      if (a.length >= 4) { info.payerAccount = a[2]; info.systemProgram = a[3]; }
      return { info, type: 'extendLookupTable' };
    }
  }
  throw new Error('unparsed lookup table instruction');
}

// ---------------------------------------------------------------- transaction encodings

function jsonInstruction(ix, stackHeight) {
  return { accounts: ix.accounts, data: toB58(ix.data), programIdIndex: ix.programIdIndex, stackHeight };
}

function parsedInstruction(rec, ix, stackHeight) {
  const programId = rec.accountKeys[ix.programIdIndex];
  const accounts = ix.accounts.map((i) => rec.accountKeys[i]);
  const parsed = parseInstruction(programId, accounts, ix.data);
  if (parsed) return { ...parsed, stackHeight };
  return { accounts, data: toB58(ix.data), programId, stackHeight };
}

function encodeTransaction(rec, encoding, withVersion) {
  const m = rec.message;
  const meta = {
    computeUnitsConsumed: rec.computeUnitsConsumed,
    err: rec.err,
    fee: rec.fee,
    innerInstructions: rec.innerInstructions.map((x) => ({
      index: x.index,
      instructions: x.instructions.map((ii) => (encoding === 'jsonParsed' ? parsedInstruction(rec, ii, ii.stackHeight) : jsonInstruction(ii, ii.stackHeight))),
    })),
    loadedAddresses: encoding === 'jsonParsed' ? undefined : rec.loaded,
    logMessages: rec.logs,
    postBalances: rec.postBalances,
    postTokenBalances: rec.postTokenBalances,
    preBalances: rec.preBalances,
    preTokenBalances: rec.preTokenBalances,
    returnData: rec.returnData.data().length ? { data: [toB64(rec.returnData.data()), 'base64'], programId: toB58(rec.returnData.programId()) } : undefined,
    rewards: [],
    status: rec.err === null ? { Ok: null } : { Err: rec.err },
  };
  let transaction;
  const lookups = rec.version === 0 ? m.addressTableLookups : undefined;
  if (encoding === 'base64') transaction = [toB64(rec.wire), 'base64'];
  else if (encoding === 'base58') transaction = [toB58(rec.wire), 'base58'];
  else if (encoding === 'jsonParsed') {
    transaction = {
      message: {
        accountKeys: rec.accountKeys.map((pubkey, i) => ({ pubkey, signer: rec.signer[i], source: rec.source[i], writable: rec.writable[i] })),
        addressTableLookups: lookups,
        instructions: m.instructions.map((ix) => parsedInstruction(rec, ix, 1)),
        recentBlockhash: m.recentBlockhash,
      },
      signatures: rec.signatures,
    };
  } else {
    transaction = {
      message: {
        accountKeys: m.accountKeys,
        addressTableLookups: lookups,
        header: m.header,
        instructions: m.instructions.map((ix) => jsonInstruction(ix, 1)),
        recentBlockhash: m.recentBlockhash,
      },
      signatures: rec.signatures,
    };
  }
  return { blockTime: slotInfo.get(rec.slot)?.time ?? null, meta, slot: rec.slot, transaction, version: withVersion ? rec.version : undefined };
}

// ---------------------------------------------------------------- methods

function atLeastConfirmed(config) {
  if (config?.commitment === 'processed') throw invalidParams('Method does not support commitment below `confirmed`');
  return slotAt(config?.commitment);
}

function computeBudgetFee(message, keys) {
  let price = 0n;
  let limit = null;
  let others = 0;
  for (const ix of message.instructions) {
    if (keys[ix.programIdIndex] !== COMPUTE_BUDGET) { others++; continue; }
    const v = new DataView(ix.data.buffer, ix.data.byteOffset, ix.data.byteLength);
    if (ix.data[0] === 2 && ix.data.length >= 5) limit = BigInt(v.getUint32(1, true));
    if (ix.data[0] === 3 && ix.data.length >= 9) price = v.getBigUint64(1, true);
  }
  limit ??= BigInt(Math.min(1_400_000, 200_000 * others));
  return (price * limit + 999_999n) / 1_000_000n;
}

const methods = {
  getHealth: () => 'ok',
  getVersion: () => ({ 'feature-set': FEATURE_SET, 'solana-core': VERSION }),
  getGenesisHash: () => genesisHash,

  getSlot([config] = []) {
    const s = slotAt(config?.commitment);
    checkMinContextSlot(config, s);
    return s;
  },

  getBlockHeight([config] = []) {
    const s = slotAt(config?.commitment);
    checkMinContextSlot(config, s);
    return height(s);
  },

  getLatestBlockhash([config] = []) {
    const s = slotAt(config?.commitment);
    checkMinContextSlot(config, s);
    return { context: context(s), value: { blockhash: slotInfo.get(s).blockhash, lastValidBlockHeight: height(s) + MAX_PROCESSING_AGE } };
  },

  isBlockhashValid([blockhash, config] = []) {
    if (typeof blockhash !== 'string') throw invalidParams('Invalid param: blockhash must be a string');
    const s = slotAt(config?.commitment);
    checkMinContextSlot(config, s);
    return { context: context(s), value: blockhashValidAt(blockhash, s) };
  },

  getFeeForMessage([encoded, config] = []) {
    const s = slotAt(config?.commitment);
    checkMinContextSlot(config, s);
    let message;
    try { message = decodeMessage(new Uint8Array(Buffer.from(encoded, 'base64'))); } catch (e) { throw invalidParams(`invalid message: ${e.message}`); }
    if (!blockhashValidAt(message.recentBlockhash, s)) return { context: context(s), value: null };
    const fee = LAMPORTS_PER_SIGNATURE * BigInt(message.header.numRequiredSignatures) + computeBudgetFee(message, message.accountKeys);
    return { context: context(s), value: fee };
  },

  getBalance([address, config] = []) {
    parseKey(address);
    const s = slotAt(config?.commitment);
    checkMinContextSlot(config, s);
    return { context: context(s), value: accountAt(address, s)?.lamports ?? 0n };
  },

  getMinimumBalanceForRentExemption([len] = []) {
    if (!Number.isInteger(len) || len < 0) throw invalidParams('Invalid param: data length must be a non-negative integer');
    return svm.minimumBalanceForRentExemption(BigInt(len));
  },

  getAccountInfo([address, config] = []) {
    parseKey(address);
    const s = slotAt(config?.commitment);
    checkMinContextSlot(config, s);
    return { context: context(s), value: encodeAccount(accountAt(address, s), config, s) };
  },

  getMultipleAccounts([addresses, config] = []) {
    if (!Array.isArray(addresses)) throw invalidParams('Invalid param: expected an array of pubkeys');
    if (addresses.length > 100) throw invalidParams('Too many inputs provided; max 100');
    addresses.forEach((a) => parseKey(a));
    const s = slotAt(config?.commitment);
    checkMinContextSlot(config, s);
    return { context: context(s), value: addresses.map((a) => encodeAccount(accountAt(a, s), config, s, 'base64')) };
  },

  getTokenAccountsByOwner([owner, filter, config] = []) {
    parseKey(owner);
    const s = slotAt(config?.commitment);
    checkMinContextSlot(config, s);
    let program;
    let mint = null;
    if (filter?.mint != null) {
      mint = parseKey(filter.mint, 'mint');
      const acct = accountAt(mint, s);
      if (tokenKind(acct) !== 'mint') throw invalidParams('Invalid param: could not find mint');
      program = acct.owner;
    } else if (filter?.programId != null) {
      program = parseKey(filter.programId, 'programId');
      if (!isTokenProgram(program)) throw invalidParams('Invalid param: unrecognized Token program id');
    } else {
      throw invalidParams('Invalid param: expected {"mint": ...} or {"programId": ...}');
    }
    const candidates = new Set(svm.inner.getProgramAccounts(fromB58(program)).map((x) => toB58(x.address)));
    for (let i = records.length - 1; i >= 0 && records[i].slot > s; i--) records[i].accountKeys.forEach((k) => candidates.add(k));
    const value = [];
    for (const pubkey of [...candidates].sort()) {
      const acct = accountAt(pubkey, s);
      if (!acct || acct.owner !== program || tokenKind(acct) !== 'account') continue;
      const a = decodeTokenAccount(acct);
      if (!a || a.owner !== owner || (mint && a.mint !== mint)) continue;
      value.push({ account: encodeAccount(acct, config, s), pubkey });
    }
    return { context: context(s), value };
  },

  getTokenAccountBalance([address, config] = []) {
    parseKey(address);
    const s = slotAt(config?.commitment);
    checkMinContextSlot(config, s);
    const acct = accountAt(address, s);
    if (!acct) throw invalidParams('Invalid param: could not find account');
    if (!isTokenProgram(acct.owner)) throw invalidParams('Invalid param: not a Token account');
    const a = tokenKind(acct) === 'account' ? decodeTokenAccount(acct) : null;
    const decimals = a ? mintDecimals(a.mint, s) : null;
    if (decimals === null) throw invalidParams('Invalid param: not a v2.0 Token account');
    return { context: context(s), value: tokenAmount(a.amount, decimals) };
  },

  sendTransaction([encoded, config] = []) {
    const { wire, tx } = decodeWire(encoded, config?.encoding);
    checkMinContextSlot(config, slotAt(config?.preflightCommitment));
    return submit(wire, tx, { skipPreflight: config?.skipPreflight === true, preflightCommitment: config?.preflightCommitment });
  },

  simulateTransaction([encoded, config] = []) {
    const { wire, tx } = decodeWire(encoded, config?.encoding);
    const s = slotAt(config?.commitment);
    checkMinContextSlot(config, s);
    const { message } = tx;
    let replacementBlockhash = null;
    if (config?.replaceRecentBlockhash) {
      if (config.sigVerify) throw invalidParams('sigVerify may not be used with replaceRecentBlockhash');
      replacementBlockhash = { blockhash: slotInfo.get(s).blockhash, lastValidBlockHeight: height(s) + MAX_PROCESSING_AGE };
    } else if (!blockhashValidAt(message.recentBlockhash, s)) {
      return { context: context(s), value: { accounts: null, err: 'BlockhashNotFound', innerInstructions: null, logs: [], replacementBlockhash, returnData: null, unitsConsumed: 0 } };
    }
    svm.withSigverify(config?.sigVerify === true);
    let sim;
    try { sim = runTransaction(wire, message.version, true); } finally { svm.withSigverify(true); }
    const failed = sim instanceof FailedTransactionMetadata;
    const meta = sim.meta();
    let accounts = null;
    if (!failed && Array.isArray(config?.accounts?.addresses)) {
      const post = new Map(sim.postAccounts().map((x) => [toB58(x.address), x.account()]));
      accounts = config.accounts.addresses.map((address) => {
        const a = post.get(address);
        const acct = a ? { lamports: a.lamports(), data: new Uint8Array(a.data()), owner: toB58(a.owner()), executable: a.executable(), rentEpoch: a.rentEpoch() } : snapshot(address);
        return encodeAccount(acct && acct.lamports > 0n ? acct : null, { encoding: config.accounts.encoding ?? 'base64' }, s);
      });
    }
    const rd = meta.returnData();
    return {
      context: context(s),
      value: {
        accounts, err: failed ? txError(sim.err()) : null, innerInstructions: null, logs: meta.logs(), replacementBlockhash,
        returnData: rd.data().length ? { data: [toB64(rd.data()), 'base64'], programId: toB58(rd.programId()) } : null,
        unitsConsumed: meta.computeUnitsConsumed(),
      },
    };
  },

  requestAirdrop([address, lamports] = []) {
    parseKey(address);
    if (!Number.isSafeInteger(lamports) || lamports < 0) throw invalidParams('Invalid param: lamports must be a u64');
    const transfer = new Uint8Array(12);
    const v = new DataView(transfer.buffer);
    v.setUint32(0, 2, true);
    v.setBigUint64(4, BigInt(lamports), true);
    const keys = [faucet.address, address, SYSTEM];
    const msg = new Uint8Array([1, 0, 1, ...shortvec(3), ...keys.flatMap((k) => [...fromB58(k)]), ...fromB58(slotInfo.get(slot).blockhash),
      ...shortvec(1), 2, ...shortvec(2), 0, 1, ...shortvec(12), ...transfer]);
    const wire = new Uint8Array([...shortvec(1), ...crypto.sign(null, msg, faucet.privateKey), ...msg]);
    const tx = decodeTransaction(wire);
    const signature = submit(wire, tx, { skipPreflight: false, preflightCommitment: 'processed' });
    return signature;
  },

  getSignatureStatuses([signatures, config] = []) {
    if (!Array.isArray(signatures)) throw invalidParams('Invalid param: expected an array of signatures');
    if (signatures.length > 256) throw invalidParams('Too many inputs provided; max 256');
    const finalized = slotAt('finalized');
    const value = signatures.map((sig) => {
      const rec = ledger.get(sig);
      if (!rec) return null;
      if (!config?.searchTransactionHistory && rec.slot < finalized - STATUS_CACHE_SLOTS) return null;
      const status = statusOf(rec.slot);
      return {
        confirmationStatus: status,
        confirmations: status === 'finalized' ? null : slot - rec.slot,
        err: rec.err,
        slot: rec.slot,
        status: rec.err === null ? { Ok: null } : { Err: rec.err },
      };
    });
    return { context: context(slot), value };
  },

  getSignaturesForAddress([address, config] = []) {
    parseKey(address);
    const s = atLeastConfirmed(config);
    checkMinContextSlot(config, s);
    const limit = config?.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalidParams('Invalid limit; max 1000');
    const visible = (rec) => rec && rec.slot <= s;
    let before = Infinity;
    if (config?.before != null) {
      const rec = ledger.get(config.before);
      if (!visible(rec)) return [];
      before = rec.seq;
    }
    let until = -1;
    if (config?.until != null) {
      const rec = ledger.get(config.until);
      if (visible(rec)) until = rec.seq;
    }
    const out = [];
    const list = byAddress.get(address) ?? [];
    for (let i = list.length - 1; i >= 0 && out.length < limit; i--) {
      const rec = list[i];
      if (rec.slot > s || rec.seq >= before) continue;
      if (rec.seq <= until) break;
      out.push({
        blockTime: slotInfo.get(rec.slot)?.time ?? null, confirmationStatus: statusOf(rec.slot), err: rec.err,
        memo: rec.memo, signature: rec.signature, slot: rec.slot,
      });
    }
    return out;
  },

  getTransaction([signature, config] = []) {
    if (typeof signature !== 'string') throw invalidParams('Invalid param: signature must be a string');
    const cfg = typeof config === 'string' ? { encoding: config } : config;
    const s = atLeastConfirmed(cfg);
    const encoding = cfg?.encoding ?? 'json';
    if (!['json', 'jsonParsed', 'base64', 'base58'].includes(encoding)) {
      throw invalidParams(`Invalid params: unsupported encoding: ${encoding}. Supported encodings: json, jsonParsed, base58, base64`);
    }
    const rec = ledger.get(signature);
    if (!rec || rec.slot > s) return null;
    const max = cfg?.maxSupportedTransactionVersion;
    if (rec.version !== 'legacy' && (max === undefined || max === null || max < rec.version)) {
      throw new RpcError(-32015, `Transaction version (${rec.version}) is not supported by the requesting client. ` +
        `Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": ${rec.version}`);
    }
    return encodeTransaction(rec, encoding, max !== undefined && max !== null);
  },

  // Test controls.
  svmtest_throttle([method, n] = []) {
    if (typeof method !== 'string' || !Number.isInteger(n) || n < 0) throw invalidParams('Invalid params: expected [method, n]');
    throttled.set(method, n);
    return true;
  },
  svmtest_pause() { paused = true; return slot; },
  svmtest_resume() { paused = false; return slot; },
  svmtest_advance([n = 1] = []) {
    if (!Number.isInteger(n) || n < 0 || n > 10_000) throw invalidParams('Invalid params: expected [n]');
    advance(n);
    return slot;
  },
};

// ---------------------------------------------------------------- faucet

const faucet = (() => {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const address = toB58(publicKey.export({ format: 'der', type: 'spki' }).subarray(12));
  const r = svm.airdrop(address, 10n ** 18n);
  if (r instanceof FailedTransactionMetadata) throw new Error('fund the faucet');
  return { address, privateKey };
})();

// ---------------------------------------------------------------- HTTP

const throttled = new Map(); // method -> remaining 429 answers

function call(req) {
  if (req === null || typeof req !== 'object' || Array.isArray(req) || req.jsonrpc !== '2.0' || typeof req.method !== 'string') {
    return { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid request' }, id: req?.id ?? null };
  }
  const fn = Object.hasOwn(methods, req.method) ? methods[req.method] : null;
  if (!fn) return { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: req.id ?? null };
  const params = req.params ?? [];
  if (!Array.isArray(params)) return { jsonrpc: '2.0', error: { code: -32602, message: 'Invalid params: expected an array' }, id: req.id ?? null };
  try {
    return { jsonrpc: '2.0', result: fn(params), id: req.id ?? null };
  } catch (e) {
    if (e instanceof RpcError) {
      return { jsonrpc: '2.0', error: { code: e.code, message: e.message, data: e.data }, id: req.id ?? null };
    }
    console.error(e);
    return { jsonrpc: '2.0', error: { code: -32603, message: `Internal error: ${e.message}` }, id: req.id ?? null };
  }
}

function reply(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body);
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok');
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(405, { Allow: 'POST' });
    res.end();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      reply(res, 200, stringify({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null }));
      return;
    }
    const batch = Array.isArray(body);
    const calls = batch ? body : [body];
    if (calls.length === 0) {
      reply(res, 200, stringify({ jsonrpc: '2.0', error: { code: -32600, message: 'Invalid request' }, id: null }));
      return;
    }
    const limited = calls.filter((c) => (throttled.get(c?.method) ?? 0) > 0);
    if (limited.length) {
      for (const c of limited) throttled.set(c.method, throttled.get(c.method) - 1);
      const error = { code: 429, message: 'Too many requests for a specific RPC call' };
      reply(res, 429, stringify(batch ? calls.map((c) => ({ jsonrpc: '2.0', error, id: c?.id ?? null })) : { jsonrpc: '2.0', error, id: body?.id ?? null }), { 'Retry-After': '1' });
      return;
    }
    const out = calls.map(call);
    reply(res, 200, stringify(batch ? out : out[0]));
  });
});

// Clients keep connections idle for minutes (Go's transport, solana-go's
// client); closing them sooner races a request sent on a closing connection.
server.keepAliveTimeout = 10 * 60 * 1000;
server.headersTimeout = server.keepAliveTimeout + 1000;

setInterval(() => { if (!paused) advance(1); }, flags.slotMs);

server.listen(flags.port, '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${flags.port}\n`);
});
