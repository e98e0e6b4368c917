using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Runtime.ExtProc.Codec;
using Metadata = Runtime.Proto.Envoy.Config.Core.V3.Metadata;

namespace Runtime.EndpointPicker.Tests;

/// <summary>The hand-written metadata reader against Google.Protobuf's encoding of the same messages.</summary>
public sealed class MetadataReaderTests
{
    private static byte[] Encode(Metadata metadata) => metadata.ToByteArray();

    private static Metadata SubsetHint(params string[] endpoints)
    {
        var list = new ListValue();
        list.Values.AddRange(endpoints.Select(Value.ForString));
        var hint = new Struct();
        hint.Fields["x-gateway-destination-endpoint-subset"] = Value.ForList([.. list.Values]);
        var metadata = new Metadata();
        metadata.FilterMetadata["other"] = new Struct { Fields = { ["x-gateway-destination-endpoint-subset"] = Value.ForString("decoy") } };
        metadata.FilterMetadata["envoy.lb.subset_hint"] = hint;
        return metadata;
    }

    [Fact]
    public void SubsetHint_ListedStringsInOrder()
    {
        var bytes = Encode(SubsetHint("10.0.0.1:8000", "10.0.0.2:8000"));

        Assert.True(MetadataReader.TryFindValue(bytes, "envoy.lb.subset_hint"u8, "x-gateway-destination-endpoint-subset"u8, out var value));
        Assert.True(MetadataReader.TryGetList(value, out var list));
        var found = new List<string>();
        foreach (var entry in MetadataReader.EnumerateStrings(list))
        {
            found.Add(System.Text.Encoding.UTF8.GetString(entry));
        }

        Assert.Equal(["10.0.0.1:8000", "10.0.0.2:8000"], found);
    }

    [Fact]
    public void EmptyList_IsPresentButEmpty()
    {
        var bytes = Encode(SubsetHint());

        Assert.True(MetadataReader.TryFindValue(bytes, "envoy.lb.subset_hint"u8, "x-gateway-destination-endpoint-subset"u8, out var value));
        Assert.True(MetadataReader.TryGetList(value, out var list));
        Assert.False(MetadataReader.EnumerateStrings(list).MoveNext());
    }

    [Fact]
    public void ServedEndpoint_String()
    {
        var metadata = new Metadata();
        metadata.FilterMetadata["envoy.lb"] = new Struct { Fields = { ["x-gateway-destination-endpoint-served"] = Value.ForString("10.0.0.9:80") } };

        Assert.True(MetadataReader.TryFindValue(Encode(metadata), "envoy.lb"u8, "x-gateway-destination-endpoint-served"u8, out var value));
        Assert.True(MetadataReader.TryGetString(value, out var text));
        Assert.Equal("10.0.0.9:80"u8.ToArray(), text.ToArray());
    }

    [Fact]
    public void MissingNamespaceOrKey_False()
    {
        var bytes = Encode(SubsetHint("a"));

        Assert.False(MetadataReader.TryFindValue(bytes, "envoy.lb"u8, "x-gateway-destination-endpoint-subset"u8, out _));
        Assert.False(MetadataReader.TryFindValue(bytes, "envoy.lb.subset_hint"u8, "nope"u8, out _));
        Assert.False(MetadataReader.TryFindValue([], "envoy.lb.subset_hint"u8, "x"u8, out _));
    }

    [Fact]
    public void RandomAndTruncatedBytes_NeverThrow()
    {
        var valid = Encode(SubsetHint("10.0.0.1:8000", "10.0.0.2:8000"));
        var random = new Random(3);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = i % 2 == 0 ? valid[..random.Next(valid.Length)] : RandomBytes(random, random.Next(1, 64));
            if (MetadataReader.TryFindValue(bytes, "envoy.lb.subset_hint"u8, "x-gateway-destination-endpoint-subset"u8, out var value) && MetadataReader.TryGetList(value, out var list))
            {
                foreach (var entry in MetadataReader.EnumerateStrings(list))
                {
                    Assert.True(entry.Length <= bytes.Length);
                }
            }
        }
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
