using System.Text;
using Runtime.Endpoints;
using Runtime.Scheduling.Filters;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.Tests.Support;

namespace Runtime.Scheduling.Tests.Filters;

public class HeaderBasedTestingFilterTests
{
    private sealed class Headers(Dictionary<string, string> values) : IRequestHeaders
    {
        public bool TryGetValue(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
        {
            if (values.TryGetValue(Encoding.ASCII.GetString(name), out var text))
            {
                value = Encoding.UTF8.GetBytes(text);
                return true;
            }

            value = default;
            return false;
        }
    }

    private static string[] Filter(string? header, EndpointState[] candidates)
    {
        var request = TestEndpoints.Request("p");
        request.Headers = new Headers(header is null ? [] : new() { ["test-epp-endpoint-selection"] = header });
        var kept = new HeaderBasedTestingFilter("f").Filter(new SchedulingContext(), request, candidates);
        return candidates[..kept].Select(c => c.Endpoint.HostPort).ToArray();
    }

    [Fact]
    public void Filter_IpAndIpPortList_KeepsListedInHeaderOrder()
    {
        var endpoints = TestEndpoints.States(3);

        Assert.Equal(["10.0.0.3:8000", "10.0.0.1:8000"], Filter(" 10.0.0.3 , 10.0.0.1:8000,10.0.0.9", endpoints));
    }

    [Fact]
    public void Filter_PortMismatch_NotKept()
    {
        Assert.Empty(Filter("10.0.0.1:9999", TestEndpoints.States(2)));
    }

    [Fact]
    public void Filter_NoHeader_KeepsNothing()
    {
        Assert.Empty(Filter(null, TestEndpoints.States(2)));
        Assert.Empty(Filter("  ", TestEndpoints.States(2)));
    }
}
