"""`make chaos`: many simulated devices against the local stack, faults on both sides
(the network between them, the functions and AWS behind them), then a drain and a checker
of Courier's guarantees."""
