from metaflow import FlowSpec, pypi_base, step


@pypi_base(packages={"six": "1.16.0", "tomli": "2.0.1"})
class PypiFlow(FlowSpec):
    @step
    def start(self):
        import six
        import tomli

        self.versions = [six.__version__, tomli.__name__]
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    PypiFlow()
