using Runtime.FlowControl.Policies;

namespace Runtime.FlowControl.Registry;

/// <summary>
/// Binary min-heap of queued items with O(log n) removal of any item: each item remembers its
/// slot (<see cref="FlowItem.QueueIndex"/> or <see cref="FlowItem.DeadlineIndex"/>). Used for a
/// flow's queue (ordered by the band's ordering policy) and a shard's deadline index. Not
/// thread-safe: only the shard's dispatcher touches it. Grows, never shrinks (steady state
/// allocates nothing).
/// </summary>
internal sealed class ItemHeap(IOrderingPolicy ordering, bool deadlineIndex)
{
    private FlowItem[] _items = new FlowItem[4];

    public int Count { get; private set; }

    public FlowItem Peek() => _items[0];

    public void Push(FlowItem item)
    {
        if (Count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        int index = Count++;
        _items[index] = item;
        SiftUp(index);
    }

    public FlowItem Pop()
    {
        FlowItem top = _items[0];
        RemoveAt(0);
        return top;
    }

    /// <summary>A new heap of the same items under <paramref name="policy"/> (a reload changed the ordering).</summary>
    public ItemHeap Reordered(IOrderingPolicy policy)
    {
        var heap = new ItemHeap(policy, deadlineIndex);
        for (int i = 0; i < Count; i++)
        {
            heap.Push(_items[i]);
        }

        return heap;
    }

    /// <summary>Removes <paramref name="item"/> if it is in this heap.</summary>
    public bool Remove(FlowItem item)
    {
        int index = IndexOf(item);
        if ((uint)index >= (uint)Count || !ReferenceEquals(_items[index], item))
        {
            return false;
        }

        RemoveAt(index);
        return true;
    }

    private void RemoveAt(int index)
    {
        FlowItem removed = _items[index];
        SetIndex(removed, -1);
        int last = --Count;
        if (index != last)
        {
            FlowItem moved = _items[last];
            _items[index] = moved;
            SetIndex(moved, index);
            _items[last] = null!;
            if (!SiftUp(index))
            {
                SiftDown(index);
            }
        }
        else
        {
            _items[last] = null!;
        }
    }

    private bool SiftUp(int index)
    {
        FlowItem item = _items[index];
        QueueOrderKey key = item.Key;
        int start = index;
        while (index > 0)
        {
            int parent = (index - 1) >> 1;
            FlowItem parentItem = _items[parent];
            if (ordering.Compare(key, parentItem.Key) >= 0)
            {
                break;
            }

            _items[index] = parentItem;
            SetIndex(parentItem, index);
            index = parent;
        }

        _items[index] = item;
        SetIndex(item, index);
        return index != start;
    }

    private void SiftDown(int index)
    {
        FlowItem item = _items[index];
        QueueOrderKey key = item.Key;
        while (true)
        {
            int child = (2 * index) + 1;
            if (child >= Count)
            {
                break;
            }

            if (child + 1 < Count && ordering.Compare(_items[child + 1].Key, _items[child].Key) < 0)
            {
                child++;
            }

            if (ordering.Compare(_items[child].Key, key) >= 0)
            {
                break;
            }

            _items[index] = _items[child];
            SetIndex(_items[index], index);
            index = child;
        }

        _items[index] = item;
        SetIndex(item, index);
    }

    private int IndexOf(FlowItem item) => deadlineIndex ? item.DeadlineIndex : item.QueueIndex;

    private void SetIndex(FlowItem item, int index)
    {
        if (deadlineIndex)
        {
            item.DeadlineIndex = index;
        }
        else
        {
            item.QueueIndex = index;
        }
    }
}
