# Plot of a soak CSV (perf/soak.sh). Variables: csv, png, title.
set datafile separator ","
set terminal pngcairo size 1200,1000 font ",10"
set output png
set multiplot layout 3,1 title title
set key top left
set grid
set xlabel "seconds"
set ylabel "MiB"
set title "memory"
set yrange [0:*]
plot csv using 1:2 skip 1 with lines lw 2 title "RSS", \
     csv using 1:3 skip 1 with lines lw 2 title "GC heap"
set ylabel "count"
set title "threads and open file descriptors"
set yrange [0:*]
plot csv using 1:4 skip 1 with lines lw 2 title "threads", \
     csv using 1:5 skip 1 with lines lw 2 title "open FDs"
set ylabel "ms"
set title "latency per interval (pick: headers to picked endpoint; exchange: whole request incl. SSE)"
set autoscale y
set logscale y
plot csv using 1:6 skip 1 with lines lw 2 title "pick p50", \
     csv using 1:7 skip 1 with lines lw 2 title "pick p99", \
     csv using 1:8 skip 1 with lines title "exchange p50", \
     csv using 1:9 skip 1 with lines title "exchange p99"
unset multiplot
