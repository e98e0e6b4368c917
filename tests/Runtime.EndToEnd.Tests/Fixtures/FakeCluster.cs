using System.Globalization;
using Runtime.Simulation;
using Runtime.TestSupport.Kubernetes;

namespace Runtime.EndToEnd.Tests.Fixtures;

/// <summary>
/// A fake Kubernetes API server holding the pool "sims" in namespace "ml" with a ready pod per
/// simulator of a farm, and a kubeconfig that reaches it with a bearer token.
/// </summary>
internal static class FakeCluster
{
    public const string Token = "e2e-token";

    /// <summary>The v1.5.0 chart's Role (config/charts/inferencepool/templates/rbac.yaml): no ConfigMaps.</summary>
    public static readonly IReadOnlySet<string> ChartRole = new HashSet<string>(StringComparer.Ordinal) { "pods", "inferencepools", "inferenceobjectives", "inferencemodelrewrites" };

    /// <summary>
    /// What the v1.5.0 chart's leader-election Role adds with replicas &gt; 1
    /// (config/charts/epplib/templates/_leader-election-rbac.yaml: leases get/list/watch/create/update/patch/delete).
    /// </summary>
    public static readonly IReadOnlySet<string> LeaderElectionRole = new HashSet<string>(StringComparer.Ordinal) { "leases" };

    public static async Task<FakeKubeApiServer> StartWithPoolAsync(SimulatorFarm farm)
    {
        var api = await FakeKubeApiServer.StartAsync();
        api.RequiredToken = Token;
        var ports = string.Join(",", farm.Servers.Select(s => "{\"number\":" + Invariant(s.Port) + "}"));
        api.Apply($$$"""
            {"apiVersion":"inference.networking.k8s.io/v1","kind":"InferencePool","metadata":{"name":"sims","namespace":"ml"},
             "spec":{"selector":{"matchLabels":{"app":"sim"}},"targetPorts":[{{{ports}}}]}}
            """);
        for (var i = 0; i < farm.Servers.Count; i++)
        {
            api.Apply(PodJson(i, farm.Servers[i].Port, ready: true));
        }

        return api;
    }

    public static string PodJson(int i, int port, bool ready) => $$$"""
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"sim-{{{i}}}","namespace":"ml","labels":{"app":"sim"},
          "annotations":{"inference.networking.k8s.io/active-ports":"{{{Invariant(port)}}}"}},
         "status":{"podIP":"127.0.0.1","conditions":[{"type":"Ready","status":"{{{(ready ? "True" : "False")}}}"}]}}
        """;

    /// <summary>Writes a kubeconfig for <paramref name="api"/> into <paramref name="directory"/> and returns its path.</summary>
    public static string WriteKubeconfig(FakeKubeApiServer api, string directory)
    {
        var path = Path.Combine(directory, "kubeconfig");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            current-context: fake
            contexts: [{"{"}name: fake, context: {"{"}cluster: fake, user: fake{"}"}{"}"}]
            clusters: [{"{"}name: fake, cluster: {"{"}server: "{api.Url.ToString().TrimEnd('/')}"{"}"}{"}"}]
            users: [{"{"}name: fake, user: {"{"}token: {Token}{"}"}{"}"}]
            """);
        return path;
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
