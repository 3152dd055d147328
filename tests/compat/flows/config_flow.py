"""Configs: a default file, a default value, a plain one with a parser, and config values in
step decorators, a parameter default and the steps."""

import os

from metaflow import Config, FlowSpec, Parameter, config_expr, environment, retry, step


def words(text):
    return {"words": text.split()}


class ConfigFlow(FlowSpec):
    cfg = Config("cfg", default="configs/cfg.json")
    extra = Config("extra", default_value={"greeting": "hi", "env": {"MODE": "fast"}})
    text = Config("text", default_value="one two three", parser=words)
    raw = Config("raw", default_value="kept as text", plain=True)
    alpha = Parameter("alpha", default=cfg.alpha)

    @retry(times=config_expr("cfg.retries"))
    @environment(vars={"MODE": extra.env.MODE, "LAYERS": config_expr("str(cfg.model.layers)")})
    @step
    def start(self):
        self.mode = os.environ["MODE"]
        self.layers = os.environ["LAYERS"]
        self.layers_twice = self.cfg.model.layers * 2
        self.greeting = self.extra.greeting
        self.kind = type(self.cfg).__name__
        try:
            self.cfg.model["layers"] = 0
        except TypeError as exc:
            self.change_error = str(exc)
        try:
            self.cfg = {}
        except AttributeError as exc:
            self.assign_error = str(exc)
        print("words", self.text.words, "raw", self.raw, "alpha", self.alpha)
        self.next(self.end)

    @step
    def end(self):
        self.total = self.alpha + self.cfg.model.layers


if __name__ == "__main__":
    ConfigFlow()
