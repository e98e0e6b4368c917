using System.Text;
using Runtime.ModelMetrics.Prometheus;

namespace Runtime.ModelMetrics.Extraction;

/// <summary>
/// Remembers the last LoRA label values of one endpoint and the adapter lists parsed from them, so
/// a scrape whose labels did not change reuses the lists instead of allocating new ones. Not thread
/// safe: one per endpoint, used by that endpoint's scrape only (scrapes of an endpoint never overlap).
/// </summary>
internal sealed class LoraAdapterCache
{
    internal AdapterList Running { get; } = new();

    internal AdapterList Waiting { get; } = new();

    internal sealed class AdapterList
    {
        private byte[] _value = [];
        private int _length;
        private IReadOnlyList<string> _adapters = [];

        /// <summary>The adapters listed by <paramref name="label"/> (comma-separated, blanks trimmed, empties dropped).</summary>
        public IReadOnlyList<string> Get(in PrometheusLabel label)
        {
            if (label.ValueEquals(_value.AsSpan(0, _length)))
            {
                return _adapters;
            }

            var length = label.ValueLength;
            if (_value.Length < length)
            {
                _value = new byte[Math.Max(length, 64)];
            }

            _length = label.CopyValueTo(_value);
            _adapters = Split(_value.AsSpan(0, _length));
            return _adapters;
        }

        private static string[] Split(ReadOnlySpan<byte> value)
        {
            var adapters = new List<string>();
            foreach (var range in value.Split((byte)','))
            {
                var name = value[range].Trim(" \t"u8);
                if (!name.IsEmpty)
                {
                    adapters.Add(Encoding.UTF8.GetString(name));
                }
            }

            return adapters.Count == 0 ? [] : adapters.ToArray();
        }
    }
}
