timeout = 600  # 10 minutes
workers = 2
worker_class = 'sync'
keepalive = 5 