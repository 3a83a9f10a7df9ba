# bench/lib.sh: the measuring helpers the bench/*.sh scripts share (sourced; the process machinery is tests/integration/lib.sh's).

CLK_TCK=$(getconf CLK_TCK)

# fcalc EXPR: floating-point arithmetic through awk
fcalc() { awk "BEGIN { v = $1; printf \"%.6f\", v }"; }

# median_of: the middle of the numbers on stdin, one per line (nothing when there are none)
median_of() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# cpu_of PID...: summed utime+stime in seconds (0 for a gone PID)
cpu_of()
{
    local p t=0 v
    for p in "$@"; do
        v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || v=0
        t=$((t + ${v:-0}))
    done
    fcalc "$t / $CLK_TCK"
}

# rss_of PID...: summed VmRSS in KiB
rss_of()
{
    local p t=0 v
    for p in "$@"; do
        v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || v=0
        t=$((t + ${v:-0}))
    done
    echo "$t"
}
