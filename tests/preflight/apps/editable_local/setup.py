from setuptools import setup

setup(name="shop", packages=["shop"], install_requires=["six==1.17.0"])
