using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Runtime.Simulation;

internal enum OpenAiOperation
{
    ChatCompletions,
    Completions,
    Embeddings,
}

/// <summary>
/// The OpenAI-compatible endpoints of a simulated vLLM server. A request waits for a slot in the
/// <see cref="SimulatedEngine"/>, then "generates" <c>max_tokens</c> tokens, one every
/// <see cref="SimulatorOptions.TimePerOutputToken"/>; streamed responses flush each token as an
/// SSE event.
/// </summary>
internal static class OpenAiEndpoints
{
    private const int EmbeddingDimensions = 8;
    /// <summary>Plain quotes and backticks in messages, as Python's json writes them.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly string[] s_words = ["The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", "."];

    public static async Task HandleAsync(ModelServerSimulator server, HttpContext context, OpenAiOperation operation)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, server.Stopping);
        var arrived = Stopwatch.GetTimestamp();
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, default, cancel.Token);
        }
        catch (JsonException e)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "BadRequestError", null, "Invalid JSON body: " + e.Message);
            return;
        }
        catch (OperationCanceledException)
        {
            context.Abort();
            return;
        }

        InferenceRequest request;
        using (document)
        {
            if (!TryParse(server.Options, document.RootElement, operation, out request, out var error))
            {
                await WriteErrorAsync(context, error.Status, error.Type, error.Param, error.Message);
                return;
            }
        }

        SimulatedRequest? slot = null;
        try
        {
            slot = await server.Engine.AdmitAsync(request.PromptTokens, request.Adapter, cancel.Token);
            if (operation == OpenAiOperation.Embeddings)
            {
                await WriteEmbeddingsAsync(context, request, cancel.Token);
                server.RecordFinished(request.PromptTokens, 0, stoppedAtLength: false);
                return;
            }

            if (server.Options.TimeToFirstToken > TimeSpan.Zero)
            {
                await Task.Delay(server.Options.TimeToFirstToken, cancel.Token);
            }

            var generation = new Generation(server, slot, request, operation, arrived);
            if (request.Stream)
            {
                await StreamAsync(context, generation, cancel.Token);
            }
            else
            {
                await CompleteAsync(context, generation, cancel.Token);
            }

            server.RecordFinished(request.PromptTokens, request.MaxTokens, request.MaxTokensGiven);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // The client went away or the server is stopping: cut the connection like a dying server.
            context.Abort();
        }
        finally
        {
            if (slot is not null)
            {
                server.Engine.Release(slot);
            }
        }
    }

    public static async Task ListModelsAsync(ModelServerSimulator server, HttpContext context)
    {
        context.Response.ContentType = "application/json";
        await using (var json = new Utf8JsonWriter(context.Response.BodyWriter, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            WriteModel(json, server.Options.Model, parent: null);
            foreach (var adapter in server.Options.LoraAdapters)
            {
                WriteModel(json, adapter, server.Options.Model);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    /// <summary>Writes <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
    public static async Task WriteErrorAsync(HttpContext context, int status, string type, string? param, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await using (var json = new Utf8JsonWriter(context.Response.BodyWriter, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteStartObject("error");
            json.WriteString("message", message);
            json.WriteString("type", type);
            json.WriteString("param", param);
            json.WriteNumber("code", status);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    public static void WriteStrings(Utf8JsonWriter json, string name, IReadOnlyList<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    private static bool TryParse(SimulatorOptions options, JsonElement root, OpenAiOperation operation, out InferenceRequest request, out RequestError error)
    {
        request = default;
        error = default;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = new RequestError(StatusCodes.Status400BadRequest, "BadRequestError", null, "The body must be a JSON object.");
            return false;
        }

        if (!root.TryGetProperty("model", out var modelElement) || modelElement.ValueKind != JsonValueKind.String || modelElement.GetString() is not { Length: > 0 } model)
        {
            error = new RequestError(StatusCodes.Status400BadRequest, "BadRequestError", "model", "The 'model' field is required and must be a non-empty string.");
            return false;
        }

        string? adapter = null;
        if (!string.Equals(model, options.Model, StringComparison.Ordinal))
        {
            if (!options.LoraAdapters.Contains(model, StringComparer.Ordinal))
            {
                error = new RequestError(StatusCodes.Status404NotFound, "NotFoundError", "model", $"The model `{model}` does not exist.");
                return false;
            }

            adapter = model;
        }

        var (inputField, promptTokens) = operation switch
        {
            OpenAiOperation.ChatCompletions => ("messages", CountChatTokens(root)),
            OpenAiOperation.Completions => ("prompt", CountPromptTokens(root, "prompt")),
            _ => ("input", CountPromptTokens(root, "input")),
        };
        if (promptTokens < 0)
        {
            error = new RequestError(StatusCodes.Status400BadRequest, "BadRequestError", inputField, $"The '{inputField}' field is missing or malformed.");
            return false;
        }

        var maxTokens = options.DefaultMaxTokens;
        var maxTokensGiven = false;
        foreach (var name in (ReadOnlySpan<string>)["max_tokens", "max_completion_tokens"])
        {
            if (root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null)
            {
                if (!value.TryGetInt32(out maxTokens) || maxTokens < 1)
                {
                    error = new RequestError(StatusCodes.Status400BadRequest, "BadRequestError", name, $"'{name}' must be a positive integer.");
                    return false;
                }

                maxTokensGiven = true;
                break;
            }
        }

        var stream = root.TryGetProperty("stream", out var streamElement) && streamElement.ValueKind == JsonValueKind.True;
        var includeUsage = root.TryGetProperty("stream_options", out var streamOptions)
            && streamOptions.ValueKind == JsonValueKind.Object
            && streamOptions.TryGetProperty("include_usage", out var usage)
            && usage.ValueKind == JsonValueKind.True;
        request = new InferenceRequest(model, adapter, Math.Max(1, promptTokens), maxTokens, maxTokensGiven, stream, includeUsage);
        return true;
    }

    /// <summary>Prompt tokens of a chat request (about 4 characters each), or -1 when <c>messages</c> is not a non-empty array.</summary>
    private static int CountChatTokens(JsonElement root)
    {
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            return -1;
        }

        var chars = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("content", out var content))
            {
                continue;
            }

            if (content.ValueKind == JsonValueKind.String)
            {
                chars += content.GetString()!.Length;
            }
            else if (content.ValueKind == JsonValueKind.Array)
            {
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                    {
                        chars += text.GetString()!.Length;
                    }
                }
            }
        }

        return (chars + 3) / 4;
    }

    /// <summary>
    /// Prompt tokens of a completions <c>prompt</c> or embeddings <c>input</c>: a string, a list of
    /// strings, token ids, or lists of token ids; -1 when missing or of another shape.
    /// </summary>
    private static int CountPromptTokens(JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var prompt))
        {
            return -1;
        }

        var chars = 0;
        var tokenIds = 0;
        if (prompt.ValueKind == JsonValueKind.String)
        {
            chars = prompt.GetString()!.Length;
        }
        else if (prompt.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in prompt.EnumerateArray())
            {
                switch (item.ValueKind)
                {
                    case JsonValueKind.String:
                        chars += item.GetString()!.Length;
                        break;
                    case JsonValueKind.Number:
                        tokenIds++;
                        break;
                    case JsonValueKind.Array:
                        tokenIds += item.GetArrayLength();
                        break;
                    default:
                        return -1;
                }
            }
        }
        else
        {
            return -1;
        }

        return ((chars + 3) / 4) + tokenIds;
    }

    private static async Task CompleteAsync(HttpContext context, Generation generation, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        for (var i = 0; i < generation.Request.MaxTokens; i++)
        {
            text.Append(await generation.NextTokenAsync(i, cancellationToken));
        }

        var request = generation.Request;
        context.Response.ContentType = "application/json";
        await using (var json = new Utf8JsonWriter(context.Response.BodyWriter, WriterOptions))
        {
            json.WriteStartObject();
            WriteHeader(json, generation, generation.Operation == OpenAiOperation.ChatCompletions ? "chat.completion" : "text_completion");
            json.WriteStartArray("choices");
            json.WriteStartObject();
            json.WriteNumber("index", 0);
            if (generation.Operation == OpenAiOperation.ChatCompletions)
            {
                json.WriteStartObject("message");
                json.WriteString("role", "assistant");
                json.WriteString("content", text.ToString());
                json.WriteEndObject();
            }
            else
            {
                json.WriteString("text", text.ToString());
            }

            json.WriteNull("logprobs");
            json.WriteString("finish_reason", generation.FinishReason);
            json.WriteEndObject();
            json.WriteEndArray();
            WriteUsage(json, request.PromptTokens, request.MaxTokens);
            json.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync(cancellationToken);
    }

    private static async Task StreamAsync(HttpContext context, Generation generation, CancellationToken cancellationToken)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        var body = response.BodyWriter;
        var json = new Utf8JsonWriter(body, WriterOptions);
        await using (json)
        {
            if (generation.Operation == OpenAiOperation.ChatCompletions)
            {
                // vLLM opens a chat stream with the assistant role and empty content.
                WriteChunk(body, json, generation, content: string.Empty, finishReason: null, role: true);
                await body.FlushAsync(cancellationToken);
            }

            for (var i = 0; i < generation.Request.MaxTokens; i++)
            {
                var token = await generation.NextTokenAsync(i, cancellationToken);
                WriteChunk(body, json, generation, token, finishReason: null, role: false);
                await body.FlushAsync(cancellationToken);
            }

            WriteChunk(body, json, generation, content: null, generation.FinishReason, role: false);
            if (generation.Request.IncludeUsage)
            {
                body.Write("data: "u8);
                json.Reset(body);
                json.WriteStartObject();
                WriteHeader(json, generation, ChunkObject(generation.Operation));
                json.WriteStartArray("choices");
                json.WriteEndArray();
                WriteUsage(json, generation.Request.PromptTokens, generation.Request.MaxTokens);
                json.WriteEndObject();
                json.Flush();
                body.Write("\n\n"u8);
            }

            body.Write("data: [DONE]\n\n"u8);
            await body.FlushAsync(cancellationToken);
        }
    }

    private static void WriteChunk(PipeWriter body, Utf8JsonWriter json, Generation generation, string? content, string? finishReason, bool role)
    {
        body.Write("data: "u8);
        json.Reset(body);
        json.WriteStartObject();
        WriteHeader(json, generation, ChunkObject(generation.Operation));
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        if (generation.Operation == OpenAiOperation.ChatCompletions)
        {
            json.WriteStartObject("delta");
            if (role)
            {
                json.WriteString("role", "assistant");
            }

            if (content is not null)
            {
                json.WriteString("content", content);
            }

            json.WriteEndObject();
        }
        else
        {
            json.WriteString("text", content ?? string.Empty);
        }

        json.WriteNull("logprobs");
        json.WriteString("finish_reason", finishReason);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
        json.Flush();
        body.Write("\n\n"u8);
    }

    private static async Task WriteEmbeddingsAsync(HttpContext context, InferenceRequest request, CancellationToken cancellationToken)
    {
        context.Response.ContentType = "application/json";
        await using (var json = new Utf8JsonWriter(context.Response.BodyWriter, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("id", "embd-" + Guid.NewGuid().ToString("N"));
            json.WriteString("object", "list");
            json.WriteNumber("created", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            json.WriteString("model", request.Model);
            json.WriteStartArray("data");
            json.WriteStartObject();
            json.WriteNumber("index", 0);
            json.WriteString("object", "embedding");
            json.WriteStartArray("embedding");
            for (var i = 0; i < EmbeddingDimensions; i++)
            {
                // Deterministic per prompt length, so equal inputs embed equally.
                json.WriteNumberValue(Math.Round(Math.Sin(request.PromptTokens + i), 6));
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            WriteUsage(json, request.PromptTokens, 0);
            json.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync(cancellationToken);
    }

    private static string ChunkObject(OpenAiOperation operation) =>
        operation == OpenAiOperation.ChatCompletions ? "chat.completion.chunk" : "text_completion";

    private static void WriteHeader(Utf8JsonWriter json, Generation generation, string objectName)
    {
        json.WriteString("id", generation.Id);
        json.WriteString("object", objectName);
        json.WriteNumber("created", generation.Created);
        json.WriteString("model", generation.Request.Model);
    }

    private static void WriteUsage(Utf8JsonWriter json, int promptTokens, int completionTokens)
    {
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", promptTokens);
        json.WriteNumber("completion_tokens", completionTokens);
        json.WriteNumber("total_tokens", promptTokens + completionTokens);
        json.WriteEndObject();
    }

    private static void WriteModel(Utf8JsonWriter json, string id, string? parent)
    {
        json.WriteStartObject();
        json.WriteString("id", id);
        json.WriteString("object", "model");
        json.WriteString("owned_by", "vllm");
        json.WriteString("root", id);
        json.WriteString("parent", parent);
        json.WriteEndObject();
    }

    /// <summary>One admitted request producing its tokens.</summary>
    private sealed class Generation(ModelServerSimulator server, SimulatedRequest slot, InferenceRequest request, OpenAiOperation operation, long arrived)
    {
        public InferenceRequest Request => request;

        public OpenAiOperation Operation => operation;

        public string Id { get; } = (operation == OpenAiOperation.ChatCompletions ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");

        public long Created { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        /// <summary>"length" when the client set max_tokens (we always use all of it), else "stop".</summary>
        public string FinishReason => request.MaxTokensGiven ? "length" : "stop";

        public async ValueTask<string> NextTokenAsync(int index, CancellationToken cancellationToken)
        {
            var perToken = server.Options.TimePerOutputToken;
            if (perToken > TimeSpan.Zero)
            {
                await Task.Delay(perToken, cancellationToken);
            }

            server.Engine.AddGeneratedToken(slot);
            if (index == 0)
            {
                server.RecordFirstToken(Stopwatch.GetElapsedTime(arrived));
            }

            return s_words[index % s_words.Length];
        }
    }

    private readonly record struct InferenceRequest(
        string Model,
        string? Adapter,
        int PromptTokens,
        int MaxTokens,
        bool MaxTokensGiven,
        bool Stream,
        bool IncludeUsage);

    private readonly record struct RequestError(int Status, string Type, string? Param, string Message);
}
