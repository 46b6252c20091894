// Real Node.js clients against a running convoai-llm: `node clients.mjs SUITE` with CONVOAI_BASE
// (".../v1"), CONVOAI_KEY and CONVOAI_MARKER set. Prints one JSON object: scenario -> what the client saw,
// or {error: {name, status}} as the client raised it. tests/clients/test_node.py asserts on it.
import OpenAI from "openai";
import { APICallError, generateText, stepCountIs, streamText, tool } from "ai";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { z } from "zod";

const BASE = process.env.CONVOAI_BASE;
const KEY = process.env.CONVOAI_KEY;
const MARKER = process.env.CONVOAI_MARKER;
const user = (text) => [{ role: "user", content: text }];
const WEATHER = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

function failure(e) {
  return { error: { name: e?.constructor?.name, status: e?.status ?? e?.statusCode ?? null,
                    isApiCallError: APICallError.isInstance(e), message: String(e?.message ?? e).slice(0, 300) } };
}

async function openaiNode() {
  const client = new OpenAI({ baseURL: BASE, apiKey: KEY, maxRetries: 0 });
  const out = {};
  const run = async (name, fn) => { try { out[name] = await fn(); } catch (e) { out[name] = failure(e); } };
  await run("stream", async () => {
    const stream = await client.chat.completions.create({ model: "mock-stream", messages: user("Hi"), stream: true,
                                                          stream_options: { include_usage: true } });
    const deltas = []; let usage = null; let finish = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (choice?.delta?.content) deltas.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
    return { deltas, usage, finish };
  });
  await run("nonstream", async () => {
    const r = await client.chat.completions.create({ model: "mock-stream", messages: user("Hi") });
    return { text: r.choices[0].message.content, finish: r.choices[0].finish_reason, usage: r.usage };
  });
  await run("helper", async () => {
    const s = client.chat.completions.stream({ model: "mock-stream", messages: user("Hi") });
    let events = 0;
    s.on("content", () => { events += 1; });
    const final = await s.finalChatCompletion();
    return { text: final.choices[0].message.content, events };
  });
  await run("tools", async () => {
    const messages = user("Weather in Paris?");
    const first = await client.chat.completions.create({ model: "mock-tools", messages, tools: [WEATHER] });
    const call = first.choices[0].message.tool_calls[0];
    messages.push(first.choices[0].message, { role: "tool", tool_call_id: call.id, content: "sunny, 24 C" });
    const second = await client.chat.completions.create({ model: "mock-tools", messages, tools: [WEATHER] });
    return { name: call.function.name, args: JSON.parse(call.function.arguments),
             answer: second.choices[0].message.content };
  });
  const bad = new OpenAI({ baseURL: BASE, apiKey: "sk-wrong", maxRetries: 0 });
  await run("error400", () => client.chat.completions.create({ model: "mock-stream", messages: user("Hi"), temperature: 5 }));
  await run("error401", () => bad.chat.completions.create({ model: "mock-stream", messages: user("Hi") }));
  await run("error503", () => client.chat.completions.create({ model: "mock-503", messages: user("Hi") }));
  await run("hangup", async () => {
    const stream = await client.chat.completions.create({ model: "mock-long", messages: user(MARKER), stream: true });
    let n = 0;
    for await (const _ of stream) { if (++n === 3) break; }  // break aborts the request
    return { chunks: n };
  });
  return out;
}

async function aiSdk(model, withTools) {
  const out = {};
  const run = async (name, fn) => { try { out[name] = await fn(); } catch (e) { out[name] = failure(e); } };
  await run("stream", async () => {
    const r = streamText({ model: model("mock-stream"), prompt: "Hi", maxRetries: 0 });
    const deltas = [];
    for await (const t of r.textStream) deltas.push(t);
    return { deltas, finish: await r.finishReason, usage: await r.usage, modelId: (await r.response).modelId };
  });
  await run("nonstream", async () => {
    const r = await generateText({ model: model("mock-stream"), prompt: "Hi", maxRetries: 0 });
    return { text: r.text, finish: r.finishReason, usage: r.usage };
  });
  if (!withTools) return out;
  await run("tools", async () => {
    const get_weather = tool({ description: "The weather in a city.", inputSchema: z.object({ city: z.string() }),
                               execute: async () => "sunny, 24 C" });
    const r = await generateText({ model: model("mock-tools"), prompt: "Weather in Paris?", tools: { get_weather },
                                   stopWhen: stepCountIs(2), maxRetries: 0 });
    const call = r.steps[0].toolCalls[0];
    return { name: call.toolName, args: call.input, answer: r.text, steps: r.steps.length };
  });
  await run("error400", () => generateText({ model: model("mock-stream"), prompt: "Hi", temperature: 5, maxRetries: 0 }));
  await run("error503", () => generateText({ model: model("mock-503"), prompt: "Hi", maxRetries: 0 }));
  await run("hangup", async () => {
    const abort = new AbortController();
    const r = streamText({ model: model("mock-long"), prompt: MARKER, abortSignal: abort.signal, maxRetries: 0,
                           onError: () => {} });
    let n = 0;
    try { for await (const _ of r.textStream) { if (++n === 3) abort.abort(); } } catch { /* aborted */ }
    return { chunks: n };
  });
  return out;
}

const suites = {
  "openai-node": openaiNode,
  "ai-sdk-compatible": () => aiSdk(createOpenAICompatible({ name: "convoai", baseURL: BASE, apiKey: KEY,
                                                            includeUsage: true }), true),
  "ai-sdk-openai-chat": () => aiSdk((id) => createOpenAI({ baseURL: BASE, apiKey: KEY }).chat(id), true),
  "ai-sdk-openai-default": () => aiSdk((id) => createOpenAI({ baseURL: BASE, apiKey: KEY })(id), true),
  "ai-sdk-401": async () => {
    const model = createOpenAICompatible({ name: "convoai", baseURL: BASE, apiKey: "sk-wrong" })("mock-stream");
    try { await generateText({ model, prompt: "Hi", maxRetries: 0 }); return {}; } catch (e) { return failure(e); }
  },
};
process.stdout.write(JSON.stringify(await suites[process.argv[2]]()) + "\n");
