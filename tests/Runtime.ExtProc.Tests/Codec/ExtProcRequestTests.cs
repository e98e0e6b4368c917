using System.Buffers;
using Google.Protobuf;
using Runtime.ExtProc.Codec;
using Runtime.Proto.Envoy.Config.Core.V3;
using Runtime.Proto.Envoy.Service.ExtProc.V3;

namespace Runtime.ExtProc.Tests.Codec;

public sealed class ExtProcRequestTests
{
    [Fact]
    public void Reset_AfterFullDecode_ClearsEveryField()
    {
        var request = new ExtProcRequest();
        byte[] bytes = new ProcessingRequest
        {
            RequestBody = new HttpBody { Body = ByteString.CopyFromUtf8("{}"), EndOfStream = true },
            MetadataContext = new Metadata(),
            ObservabilityMode = true,
            ProtocolConfig = new ProtocolConfiguration { SendBodyWithoutWaitingForHeaderResponse = true, ResponseBodyMode = Proto.Envoy.Extensions.Filters.Http.ExtProc.V3.ProcessingMode.Types.BodySendMode.Buffered },
        }.ToByteArray();
        Assert.True(ProcessingRequestDecoder.TryDecode(new ReadOnlySequence<byte>(bytes), request, out _));

        request.Reset();

        Assert.Equal(ProcessingRequestKind.None, request.Kind);
        Assert.True(request.Body.IsEmpty);
        Assert.False(request.EndOfStream);
        Assert.False(request.HasMetadataContext);
        Assert.True(request.MetadataContext.IsEmpty);
        Assert.False(request.ObservabilityMode);
        Assert.False(request.HasProtocolConfig);
        Assert.Equal(BodySendMode.None, request.ResponseBodyMode);
        Assert.False(request.SendBodyWithoutWaitingForHeaderResponse);
    }

    [Fact]
    public void Release_AfterUse_ReturnsHeaderStorageAndStaysUsable()
    {
        var request = new ExtProcRequest();
        request.Headers.Add("a"u8, "b"u8);
        request.Body = new ReadOnlySequence<byte>(new byte[3]);

        request.Release();

        Assert.Equal(0, request.Headers.Count);
        Assert.Equal(0, request.Headers.ByteCapacity);
        Assert.True(request.Body.IsEmpty);
        Assert.Equal(ProcessingRequestKind.None, request.Kind);

        byte[] bytes = new ProcessingRequest { ResponseHeaders = new HttpHeaders { EndOfStream = true } }.ToByteArray();
        Assert.True(ProcessingRequestDecoder.TryDecode(new ReadOnlySequence<byte>(bytes), request, out _));
        Assert.Equal(ProcessingRequestKind.ResponseHeaders, request.Kind);
    }

    [Fact]
    public void TryDecode_RepeatedMetadataAcrossMessages_ScratchReusedWithoutLeakingPreviousBytes()
    {
        var request = new ExtProcRequest();
        var first = new Metadata();
        first.FilterMetadata["first"] = new Google.Protobuf.WellKnownTypes.Struct();
        var second = new Metadata();
        second.FilterMetadata["second"] = new Google.Protobuf.WellKnownTypes.Struct();
        byte[] twice = [.. new ProcessingRequest { MetadataContext = first }.ToByteArray(), .. new ProcessingRequest { MetadataContext = first }.ToByteArray()];
        byte[] once = new ProcessingRequest { MetadataContext = second }.ToByteArray();
        byte[] twiceSecond = [.. once, .. once];

        Assert.True(ProcessingRequestDecoder.TryDecode(new ReadOnlySequence<byte>(twice), request, out _));
        Assert.Equal(first, Metadata.Parser.ParseFrom(request.MetadataContext));
        Assert.True(ProcessingRequestDecoder.TryDecode(new ReadOnlySequence<byte>(once), request, out _));
        Assert.Equal(second, Metadata.Parser.ParseFrom(request.MetadataContext));
        Assert.True(ProcessingRequestDecoder.TryDecode(new ReadOnlySequence<byte>(twiceSecond), request, out _));
        Assert.Equal(second, Metadata.Parser.ParseFrom(request.MetadataContext));
    }
}
