from shop.worker import main

main()
