"""The field app: the offline PWA shell at /field/ and the device context it works from."""
