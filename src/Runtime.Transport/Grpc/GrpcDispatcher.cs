using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Runtime.Transport.Grpc;

/// <summary>
/// The Kestrel request delegate of every gRPC listener: checks the request is gRPC, finds the
/// method in the listener's <see cref="GrpcServiceTable"/>, applies the deadline, runs the
/// handler and ends the call with <c>grpc-status</c> — in trailers, or as a trailers-only
/// response when nothing was written yet.
/// </summary>
public sealed class GrpcDispatcher
{
    /// <summary>Key under which a listener stores its <see cref="GrpcServiceTable"/> in the connection's items.</summary>
    public static readonly object ServiceTableKey = new();

    private static readonly StringValues s_grpcContentType = new("application/grpc");
    private static readonly StringValues s_identity = new("identity");
    private static readonly StringValues[] s_statusValues = CreateStatusValues();

    private readonly GrpcServerOptions _options;
    private readonly ILogger _logger;
    private readonly ObjectPool<GrpcCall> _calls =
        new DefaultObjectPool<GrpcCall>(new DefaultPooledObjectPolicy<GrpcCall>(), 1024);

    public GrpcDispatcher(GrpcServerOptions options, ILogger<GrpcDispatcher> logger)
    {
        _options = options;
        _logger = logger;
    }

    public async Task HandleAsync(HttpContext context)
    {
        var table = context.Features.Get<IConnectionItemsFeature>()?.Items[ServiceTableKey] as GrpcServiceTable;
        var request = context.Request;
        var response = context.Response;

        if (table is null || !HttpMethods.IsPost(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        if (!IsGrpcContentType(request.ContentType))
        {
            // PROTOCOL-HTTP2.md: a non-gRPC content type gets HTTP 415.
            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            WriteStatus(response, GrpcStatusCode.Internal, "Content-Type must be application/grpc.");
            return;
        }

        response.ContentType = s_grpcContentType;
        response.Headers[HeaderNames.GrpcAcceptEncoding] = s_identity;

        var path = request.Path.Value ?? string.Empty;
        if (!table.TryGetHandler(path, out var handler))
        {
            GrpcLog.UnknownMethod(_logger, table.Name, path);
            WriteStatus(response, GrpcStatusCode.Unimplemented, "Method is unimplemented.");
            return;
        }

        CancellationTokenSource? deadline = null;
        var callCancelled = context.RequestAborted;
        if (request.Headers.TryGetValue(HeaderNames.GrpcTimeout, out var timeoutHeader))
        {
            if (!GrpcTimeout.TryParse(timeoutHeader.ToString(), out var timeout))
            {
                WriteStatus(response, GrpcStatusCode.InvalidArgument, "Malformed grpc-timeout header.");
                return;
            }

            deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            deadline.CancelAfter(timeout);
            callCancelled = deadline.Token;
        }

        var call = _calls.Get();
        call.Start(context, _options.MaxReceiveMessageSize, callCancelled);
        try
        {
            await handler(call).ConfigureAwait(false);
            EndCall(response, GrpcStatusCode.Ok, null);
        }
        catch (Exception ex) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client reset the stream (or the connection died): nobody is left to tell.
            GrpcLog.CallAborted(_logger, table.Name, path, ex.GetType().Name);
        }
        catch (OperationCanceledException) when (deadline?.IsCancellationRequested == true)
        {
            EndCall(response, GrpcStatusCode.DeadlineExceeded, "Deadline exceeded.");
        }
        catch (GrpcException ex)
        {
            GrpcLog.CallFailed(_logger, table.Name, path, (int)ex.Status, ex.Message);
            EndCall(response, ex.Status, ex.Message);
        }
        catch (Exception ex)
        {
            GrpcLog.HandlerCrashed(_logger, table.Name, path, ex);
            EndCall(response, GrpcStatusCode.Internal, "Internal server error.");
        }
        finally
        {
            call.Reset();
            _calls.Return(call);
            deadline?.Dispose();
        }
    }

    private static void EndCall(HttpResponse response, GrpcStatusCode status, string? message)
    {
        if (!response.HasStarted)
        {
            // Trailers-only: Kestrel sends these headers with END_STREAM since there is no body.
            WriteStatus(response, status, message);
            return;
        }

        var trailers = response.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseTrailersFeature>();
        if (trailers is null)
        {
            return;
        }

        trailers.Trailers[HeaderNames.GrpcStatus] = s_statusValues[(int)status];
        if (message is not null)
        {
            trailers.Trailers[HeaderNames.GrpcMessage] = PercentEncode(message);
        }
    }

    private static void WriteStatus(HttpResponse response, GrpcStatusCode status, string? message)
    {
        response.Headers[HeaderNames.GrpcStatus] = s_statusValues[(int)status];
        if (message is not null)
        {
            response.Headers[HeaderNames.GrpcMessage] = PercentEncode(message);
        }
    }

    private static bool IsGrpcContentType(string? contentType) =>
        contentType is not null
        && contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase)
        && (contentType.Length == 16 || contentType[16] is '+' or ';');

    /// <summary>grpc-message is percent-encoded UTF-8 outside printable ASCII (and '%').</summary>
    internal static string PercentEncode(string message)
    {
        var clean = true;
        foreach (var c in message)
        {
            if (c < 0x20 || c > 0x7E || c == '%')
            {
                clean = false;
                break;
            }
        }

        if (clean)
        {
            return message;
        }

        var bytes = Encoding.UTF8.GetBytes(message);
        var sb = new StringBuilder(bytes.Length * 2);
        foreach (var b in bytes)
        {
            if (b < 0x20 || b > 0x7E || b == '%')
            {
                sb.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append((char)b);
            }
        }

        return sb.ToString();
    }

    private static StringValues[] CreateStatusValues()
    {
        var values = new StringValues[17];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = new StringValues(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return values;
    }
}
