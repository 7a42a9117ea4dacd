// Generates tests/fixtures/tokenizer/cl100k_cases.json: texts with their cl100k_base pieces and
// token ids as computed by gpt-tokenizer, the reference for src/search/tokenizer. The C++ test
// reads the checked-in output, so node is needed only to regenerate it:
//
//   mkdir -p /tmp/gpt && tar -xzf ~/.cache/studio/npm/gpt-tokenizer-4.0.0.tgz -C /tmp/gpt
//   node tests/tools/gen_tokenizer_fixture.mjs /tmp/gpt/package tests/fixtures/tokenizer/cl100k_cases.json
//
// Deterministic: the random texts come from a seeded generator, so rerunning gives the same file.
// Texts avoid U+0085 and U+FEFF, the two code points where JavaScript's \s (gpt-tokenizer) and
// Unicode White_Space (tiktoken, and our tokenizer) disagree.

import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [pkgDir, outPath] = process.argv.slice(2);
if (!pkgDir || !outPath) {
  console.error('usage: node gen_tokenizer_fixture.mjs GPT_TOKENIZER_PACKAGE_DIR OUT.json');
  process.exit(2);
}
const require = createRequire(import.meta.url);
const pkg = resolve(pkgDir);
const { version } = require(join(pkg, 'package.json'));
const cl100k = require(join(pkg, 'cjs/encoding/cl100k_base.js'));
const { CL100K_TOKEN_SPLIT_REGEX } = require(join(pkg, 'cjs/encodingParams/constants.js'));

const cases = [];
function add(name, text) {
  const pieces = [...text.matchAll(CL100K_TOKEN_SPLIT_REGEX)].map((m) => m[0]);
  // Special-token strings are ordinary text for us (tiktoken's encode_ordinary).
  const tokens = cl100k.encode(text, { disallowedSpecial: new Set() });
  cases.push({ name, text, pieces, tokens });
}

// Known by heart.
add('hello world', 'hello world');
add('empty', '');
add('single space', ' ');

// Contractions, in every case.
add('contractions lower', "I'm sure you'll see they've gone, we'd said it's what you're after, don't.");
add('contractions upper', "DON'T I'M YOU'LL THEY'VE WE'D IT'S YOU'RE");
add('contractions mixed', "Don'T i'M yoU'Ll they'Ve it'S you'rE O'Neil 'sam ''s rock 'n' roll '");
add('apostrophe variants', "it’s (curly) vs it's; l'été; ’tis; 'LL 'll 'Ll");

// Numbers.
add('digits', '1 12 123 1234 12345 1234567 12345678901234567890');
add('number formats', 'Pi is 3.14159, a million is 1,000,000 and v1.2.3-rc.4 shipped on 2024-03-15T10:20:30Z.');
add('non-ascii numbers', '٣٤٥٦ ½ ¾ Ⅻ x² 10³ ①②③ １２３４');
add('numbers and letters', 'abc123def 4x4 A1B2C3 0xDEADBEEF 1e-9 $5.00 50% #42');

// Whitespace.
add('space runs', 'a b  c   d    e     f');
add('tabs', 'a\tb\t\tc \t d\t');
add('newlines', '\n');
add('newline runs', 'line one\nline two\n\nline four\n\n\n\nline eight');
add('crlf', 'first\r\nsecond\r\n\r\nthird\r');
add('indented', 'def f():\n    return 1\n\n  x = 2\n\t\ty');
add('spaces around newlines', 'a \n b  \n\n  c   \n');
add('trailing spaces', 'trailing   ');
add('trailing newline and spaces', 'trailing\n  ');
add('leading spaces', '   leading');
add('only whitespace', ' \t\n \n\t ');
add('unicode spaces', 'no\u00a0break ideographic\u3000space em\u2003space thin\u2009space line\u2028sep');
add('vertical tab form feed', 'a\u000bb\u000cc');

// Prose.
add('english prose', [
  'The quick brown fox jumps over the lazy dog. It was the best of times, it was the worst of times,',
  'it was the age of wisdom, it was the age of foolishness; it was the epoch of belief, it was the',
  'epoch of incredulity. "Well," said Mr. Bennet, "I am glad you are come." Really?! Yes — really.',
  '',
  'Tokenization splits text into pieces; byte-pair encoding then merges bytes by rank. Numbers such',
  'as 2,048 or 3.5e10 and words like "antidisestablishmentarianism" show how merges behave.',
].join('\n'));

// Code and markup.
add('python', 'import os\n\ndef main(argv: list[str]) -> int:\n    """Entry point."""\n    for i, a in enumerate(argv):\n        print(f"{i:>3}: {a!r}")\n    return 0\n\nif __name__ == "__main__":\n    raise SystemExit(main(os.sys.argv))\n');
add('cpp', '#include <vector>\nint main() {\n  std::vector<int> v{1, 2, 3};\n  for (auto& x : v) x *= 2;  // double\n  return v.size() == 3 ? 0 : 1;\n}\n');
add('json', '{"id": 12345, "name": "Widget", "tags": ["a", "b"], "price": 9.99, "ok": true, "n": null}');
add('html', '<!DOCTYPE html><html><head><title>Hi</title></head><body><p class="x">Hello &amp; bye</p></body></html>');
add('markdown', '# Title\n\n## Sub-title\n\n- item one\n- item **two**\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```sh\nmake test\n```\n');
add('url and email', 'See https://example.com/path/to?q=1&r=two#frag or mail jane.doe+tag@example.co.uk.');
add('special token text', 'before <|endoftext|> after <|im_start|>user<|im_end|> <|fim_prefix|>');
add('punctuation runs', '!!! ??? ... --- === *** ### $$$ ;;; ::: ,,, ((( ))) [[[ ]]] {{{ }}} ||| \\\\ //');
add('punctuation then newlines', 'end.\n\nnext:\r\n\r\n-- done --\n');

// Scripts other than Latin.
add('chinese', '你好，世界！这是一个用于测试分词器的句子。我们会看到中文如何被编码。');
add('japanese', '日本語のテキストです。カタカナとひらがな、そして漢字が混ざっています。');
add('korean', '안녕하세요, 세계! 한국어 문장을 토큰화합니다.');
add('russian', 'Привет, мир! Съешь же ещё этих мягких французских булок, да выпей чаю.');
add('greek', 'Καλημέρα κόσμε· ξεσκεπάζω την ψυχοφθόρα βδελυγμία.');
add('arabic', 'مرحبا بالعالم! هذه جملة للاختبار.');
add('hebrew', 'שלום עולם, זהו משפט לבדיקה.');
add('hindi', 'नमस्ते दुनिया! यह एक परीक्षण वाक्य है।');
add('thai', 'สวัสดีชาวโลก นี่คือประโยคทดสอบ');
add('accented latin', 'Café naïve résumé façade Ångström Ærøskøbing Straße Tiếng Việt có dấu Zürich São Paulo');
add('combining marks', 'e\u0301 vs é, n\u0303 vs ñ, a\u030a\u0301, Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319');
add('titlecase and modifiers', 'ǅemal ǈubav ʰʲ ˈstress ꜰᴀᴋᴇ');
add('mixed scripts', 'Hello世界 мир123 café中文 ΑΒΓabc עבריתEnglish 😀text');

// Emoji.
add('emoji', 'I ❤️ tokenizers 🚀🔥👍🏽 ok?');
add('emoji sequences', '👨‍👩‍👧‍👦 family, 🇫🇷🇯🇵 flags, 🏳️‍🌈 flag, 1️⃣ keycap, 🧑🏿‍💻 coder');
add('symbols', '€1,234.56 (≈ ¥180,000) — cheap! © ® ™ ° ± × ÷ → ⇒ ∀x∈ℝ: x²≥0 ♠♥♦♣');

// Long pieces (the heap merge path) and repetition.
add('long letter run', 'a'.repeat(300));
add('long mixed word', 'Pneumonoultramicroscopicsilicovolcanoconiosis'.repeat(6));
add('long punctuation run', '='.repeat(200) + '\n' + '-*'.repeat(100));
add('long space run', 'x' + ' '.repeat(150) + 'y' + '\n'.repeat(40) + 'z');
add('base64 blob', 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==');
add('long cjk run', '東京特許許可局許可局長今日急遽休暇許可拒否'.repeat(8));

// Random texts over an alphabet that exercises every alternative of the split pattern.
const alphabet = [
  ...'abstlmdveLSTDMVRE', 'é', 'ß', 'Ж', 'ж', '中', 'あ', 'ا', 'ก', 'ǅ', 'ʰ',
  ...'0179', '٣', '½', 'Ⅻ', '²',
  '\u0301', '\u0903', '\u200d', '\ufe0f',
  ' ', ' ', ' ', ' ', '\t', '\n', '\n', '\r', '\u00a0', '\u3000', '\u2003', '\u000b', '\u2028',
  "'", "'", "'", ...'.,!?-_(){}=*#$"/\\', '€', '©', '😀', '🚀', '’',
];
let seed = 0x5eed1234;
function random() {  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
for (let i = 0; i < 400; ++i) {
  const length = 1 + Math.floor(random() * 60);
  let text = '';
  for (let j = 0; j < length; ++j) text += alphabet[Math.floor(random() * alphabet.length)];
  add(`random ${i}`, text);
}

const out = {
  generator: 'tests/tools/gen_tokenizer_fixture.mjs',
  reference: `gpt-tokenizer@${version} (cl100k_base, encode with no special tokens)`,
  cases,
};
writeFileSync(outPath, JSON.stringify(out, null, 0).replace(/\{"name"/g, '\n{"name"') + '\n');
console.log(`wrote ${cases.length} cases to ${outPath}`);
