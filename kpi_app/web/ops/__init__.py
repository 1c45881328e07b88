"""Operations endpoints: health check."""
