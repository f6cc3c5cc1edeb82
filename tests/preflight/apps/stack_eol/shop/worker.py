import six


def main() -> None:
    print(six.PY3)
