"""Budget allocation (AllocateFunding): the best funded list the round's rules allow, proven
optimal, with a reason for every proposal left out. Entry point: engine.allocate."""
