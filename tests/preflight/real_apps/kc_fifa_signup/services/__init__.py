# Services package
