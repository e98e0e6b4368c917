using Runtime.FlowControl.Policies;

namespace Runtime.FlowControl.Registry;

/// <summary>
/// Binary min-heap of a band's non-empty flows in one shard, keyed by each flow's head under the
/// band's ordering policy: the root is the flow <see cref="GlobalStrictFairnessPolicy"/> would
/// choose, found in O(1) and re-placed in O(log flows) when its head changes, instead of a scan of
/// every waiting flow per dispatch (<c>FlowControlScalingBenchmark.Backlog</c>, 10,000 flows).
/// Each flow remembers its slot (<see cref="Flow.HeapIndex"/>). Owned by the shard's dispatcher;
/// grows, never shrinks (steady state allocates nothing).
/// </summary>
internal sealed class FlowHeap(IOrderingPolicy ordering)
{
    private Flow[] _flows = new Flow[4];

    public int Count { get; private set; }

    public Flow Peek() => _flows[0];

    public void Add(Flow flow)
    {
        if (Count == _flows.Length)
        {
            Array.Resize(ref _flows, _flows.Length * 2);
        }

        int index = Count++;
        _flows[index] = flow;
        SiftUp(index);
    }

    public void Remove(Flow flow)
    {
        int index = flow.HeapIndex;
        flow.HeapIndex = -1;
        int last = --Count;
        if (index != last)
        {
            Flow moved = _flows[last];
            _flows[last] = null!;
            _flows[index] = moved;
            moved.HeapIndex = index;
            Update(moved);
        }
        else
        {
            _flows[last] = null!;
        }
    }

    /// <summary>Restores the heap after <paramref name="flow"/>'s head changed (earlier or later).</summary>
    public void Update(Flow flow)
    {
        if (!SiftUp(flow.HeapIndex))
        {
            SiftDown(flow.HeapIndex);
        }
    }

    private int Compare(Flow x, Flow y) => ordering.Compare(x.Queue.Peek().Key, y.Queue.Peek().Key);

    private bool SiftUp(int index)
    {
        Flow flow = _flows[index];
        int start = index;
        while (index > 0)
        {
            int parent = (index - 1) >> 1;
            Flow parentFlow = _flows[parent];
            if (Compare(flow, parentFlow) >= 0)
            {
                break;
            }

            _flows[index] = parentFlow;
            parentFlow.HeapIndex = index;
            index = parent;
        }

        _flows[index] = flow;
        flow.HeapIndex = index;
        return index != start;
    }

    private void SiftDown(int index)
    {
        Flow flow = _flows[index];
        while (true)
        {
            int child = (2 * index) + 1;
            if (child >= Count)
            {
                break;
            }

            if (child + 1 < Count && Compare(_flows[child + 1], _flows[child]) < 0)
            {
                child++;
            }

            if (Compare(_flows[child], flow) >= 0)
            {
                break;
            }

            _flows[index] = _flows[child];
            _flows[index].HeapIndex = index;
            index = child;
        }

        _flows[index] = flow;
        flow.HeapIndex = index;
    }
}
