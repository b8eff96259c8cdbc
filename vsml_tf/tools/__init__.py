"""Command-line tools on top of the library: `bench` (vsml-bench; `profile` is its
--profile), `sweep` (a sweep file's points as flags), `throughput` (episode pipeline vs
learner). They import the library; the library never imports them."""
