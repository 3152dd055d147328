"""Parameters of several types, a required one and a callable default."""

from metaflow import FlowSpec, JSONType, Parameter, step


def default_label(ctx):
    return "label-for-" + ctx.parameter_name


class ParamsFlow(FlowSpec):
    name_p = Parameter("who", help="a string", default="world")
    n = Parameter("n", help="an int", default=3)
    alpha = Parameter("alpha", help="a float", type=float, default=0.5)
    flag = Parameter("flag", help="a bool", type=bool, default=False)
    cfg = Parameter("cfg", help="json", type=JSONType, default='{"k": [1, 2]}')
    must = Parameter("must", help="required", required=True, type=int)
    label = Parameter("label", help="callable default", default=default_label)
    csv = Parameter("csv", help="split", default="a,b", separator=",")

    @step
    def start(self):
        self.seen = {
            "who": self.name_p,
            "n": self.n,
            "alpha": self.alpha,
            "flag": self.flag,
            "cfg": self.cfg,
            "must": self.must,
            "label": self.label,
            "csv": list(self.csv),
        }
        self.types = {k: type(v).__name__ for k, v in self.seen.items()}
        try:
            self.n = 99
        except AttributeError:
            self.assign_failed = True
        self.next(self.end)

    @step
    def end(self):
        self.product = self.n * self.must


if __name__ == "__main__":
    ParamsFlow()
