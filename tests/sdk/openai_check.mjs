// The official `openai` npm package against studio's OpenAI-compatible endpoints (/v1), exactly as
// an integrator would use it. Run by tests/functional/test_openai_sdk.py, which asserts on the JSON
// summary this prints on stdout:
//
//   STUDIO_API_KEY=sk_… node tests/sdk/openai_check.mjs --base-url http://127.0.0.1:PORT/v1 \
//       --question "How long does shipping take?"
//
// The key comes from the environment (not argv, which other users of the machine can read). Every
// check is run even when an earlier one fails; a failure is reported as {"error": …} in its place.
// Exit status: 0 when the summary was printed, 2 for a usage error.

import OpenAI from "openai";
import { VERSION } from "openai/version";

const MODEL = "customer-service";

function parseArgs(argv) {
  const args = { baseURL: "", question: "" };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === "--base-url" && value !== undefined) {
      args.baseURL = value;
      i++;
    } else if (argv[i] === "--question" && value !== undefined) {
      args.question = value;
      i++;
    } else {
      throw new Error(`unknown argument '${argv[i]}'`);
    }
  }
  if (!args.baseURL || !args.question) throw new Error("--base-url and --question are required");
  return args;
}

// The SDK's error as the test needs it: which class the SDK chose, and what the server said.
function describeError(err) {
  return {
    class: err?.constructor?.name ?? typeof err,
    isApiError: err instanceof OpenAI.APIError,
    isNotFound: err instanceof OpenAI.NotFoundError,
    isAuthentication: err instanceof OpenAI.AuthenticationError,
    status: err?.status ?? null,
    code: err?.code ?? null,
    type: err?.type ?? null,
    param: err?.param ?? null,
    message: String(err?.message ?? err),
  };
}

// Set when a call could not reach the server or timed out: the calls after it are not made (each
// would only wait for its own timeout), so a hung server fails the run in seconds.
let unreachable = null;
const SKIPPED = () => ({ class: "Skipped", message: `not called: an earlier call failed (${unreachable})` });

function noteConnection(err) {
  if (err instanceof OpenAI.APIConnectionError) unreachable = `${err.constructor.name}: ${err.message}`;
}

// Runs one check; an unexpected exception becomes {"error": …} so the other checks still run.
async function attempt(fn) {
  if (unreachable) return { error: SKIPPED() };
  try {
    return await fn();
  } catch (err) {
    noteConnection(err);
    return { error: describeError(err) };
  }
}

// Calls that must fail: {"threw": false} if the call succeeded, else the error.
async function expectError(fn) {
  if (unreachable) return { threw: false, error: SKIPPED() };
  try {
    await fn();
    return { threw: false };
  } catch (err) {
    noteConnection(err);
    return { threw: true, ...describeError(err) };
  }
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`openai_check: ${err.message}\n`);
    return 2;
  }
  const apiKey = process.env.STUDIO_API_KEY;
  if (!apiKey) {
    process.stderr.write("openai_check: set STUDIO_API_KEY\n");
    return 2;
  }
  // No retries: a 404 or 401 must surface as the first (and only) answer. A call that hangs fails
  // on its own rather than taking the whole run with it.
  const client = new OpenAI({ apiKey, baseURL: args.baseURL, maxRetries: 0, timeout: 20_000 });
  const messages = [{ role: "user", content: args.question }];
  const summary = { sdkVersion: VERSION, node: process.version };

  summary.models = await attempt(async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    return { ids };
  });

  summary.completion = await attempt(async () => {
    const c = await client.chat.completions.create({ model: MODEL, messages });
    return {
      id: c.id,
      object: c.object,
      model: c.model,
      content: c.choices[0]?.message?.content ?? null,
      role: c.choices[0]?.message?.role ?? null,
      finishReason: c.choices[0]?.finish_reason ?? null,
      usage: c.usage ?? null,
      // studio's extensions, passed through by the SDK untouched.
      sources: c.sources ?? null,
      conversationId: c.conversation_id ?? null,
    };
  });

  summary.stream = await attempt(async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const out = { chunks: 0, contentDeltas: 0, content: "", role: null, finishReason: null, usage: null,
                  usageChunkChoices: null, ids: [], sources: null };
    for await (const chunk of stream) {
      out.chunks++;
      if (!out.ids.includes(chunk.id)) out.ids.push(chunk.id);
      const choice = chunk.choices[0];
      if (choice?.delta?.role) out.role = choice.delta.role;
      if (choice?.delta?.content) {
        out.contentDeltas++;
        out.content += choice.delta.content;
      }
      if (choice?.finish_reason) out.finishReason = choice.finish_reason;
      if (chunk.sources) out.sources = chunk.sources;
      if (chunk.usage) {
        out.usage = chunk.usage;
        out.usageChunkChoices = chunk.choices.length;
      }
    }
    return out;
  });

  summary.unknownModel = await expectError(() =>
    client.chat.completions.create({ model: "gpt-4o-no-such-agent", messages }));
  summary.unknownModelStream = await expectError(async () => {
    const stream = await client.chat.completions.create({ model: "gpt-4o-no-such-agent", messages, stream: true });
    for await (const _ of stream) { /* drain */ }
  });

  const badClient = new OpenAI({ apiKey: "sk_not_a_real_key_0123456789", baseURL: args.baseURL, maxRetries: 0,
                                 timeout: 20_000 });
  summary.badKey = await expectError(() => badClient.chat.completions.create({ model: MODEL, messages }));
  summary.badKeyModels = await expectError(() => badClient.models.list());

  process.stdout.write(JSON.stringify(summary) + "\n");
  return 0;
}

process.exitCode = await main();
