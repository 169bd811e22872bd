# Latency percentiles against offered load, buildgated beside the echo
# baseline. Called by run_benchmarks.sh with datafile and outfile set.
# datafile columns: offered_rps echo_p50 echo_p99 bg_p50 bg_p99 (microseconds)
set terminal pngcairo size 900,560 enhanced font ",11"
set output outfile
set title "buildgated vs bare gRPC echo: latency against offered load (same gRPC, same machine)"
set xlabel "offered load (requests/s)"
set ylabel "latency (µs)"
set logscale y
set grid
set key left top
plot datafile using 1:2 with linespoints lw 2 lc rgb "#888888" title "echo p50", \
     datafile using 1:3 with linespoints lw 2 dt 2 lc rgb "#888888" title "echo p99", \
     datafile using 1:4 with linespoints lw 2 lc rgb "#1f77b4" title "buildgated p50", \
     datafile using 1:5 with linespoints lw 2 dt 2 lc rgb "#1f77b4" title "buildgated p99"
